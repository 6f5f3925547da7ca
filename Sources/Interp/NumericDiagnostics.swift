/// Finding where NaN or infinity first appears in a forward pass.
extension TransformerModel {
    /// The first hook point (in forward order) whose activation holds a NaN or an infinity, with the first
    /// offending flat index; nil when every activation is finite. Masked attention scores (-inf by design)
    /// are skipped.
    public func firstNonFiniteActivation(_ batch: TokenBatch) -> (hook: String, index: Int, value: Float)? {
        let hooks = ForwardHooks()
        var found: (String, Int, Float)?
        for point in hookPoints where point.kind != .attnScores {
            hooks.add(point) { activation, context in
                if found == nil, let i = activation.scalars.firstIndex(where: { !$0.isFinite }) {
                    found = (context.name, i, activation.scalars[i])
                }
                return activation
            }
        }
        _ = forward(batch, hooks: hooks, logitPositions: .none)
        return found
    }
}
