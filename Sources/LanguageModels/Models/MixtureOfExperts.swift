import Tensors

/// A sparse mixture-of-experts MLP (OLMoE's `OlmoeSparseMoeBlock`): a router scores every expert for each token, the
/// token goes to its `expertsPerToken` most probable experts, and the MLP's output is those experts' outputs weighted by
/// their probabilities (renormalized to sum to 1 when ``normalizesTopK``).
///
/// Each expert runs only on the tokens routed to it: their rows are gathered, the expert's projections run on them,
/// and the weighted results are added back into their rows, expert by expert in index order (as transformers'
/// `index_add_` loop does).
///
/// Under a gradient tape the chosen experts are constants: gradients flow through the chosen experts and, through
/// the routing weights, back to the router and the MLP's input.
///
/// Hook points: `blocks.L.mlp.hook_router_logits`, `hook_expert_weights` (the softmax over all experts, as in
/// TransformerLens), `hook_expert_indices` (the chosen experts as floats; a hook may replace them to force a routing),
/// `hook_topk_weights`, and per expert `blocks.L.mlp.experts.E.hook_gate`, `hook_pre` (the up projection) and
/// `hook_post`, `[tokens routed to E, dMLP]` — TransformerLens' `MoEGatedMLP` names.
///
/// Qwen2-MoE adds a shared expert (`mlp.shared_expert`) that every token passes through, its output scaled by
/// `sigmoid(shared_expert_gate(x))` and added to the routed experts' sum. TransformerLens has no names for it; this
/// library names its points after the module, as the routed experts': `blocks.L.mlp.shared_expert.hook_gate`,
/// `hook_pre`, `hook_post` (`[batch, pos, width]`) and `blocks.L.mlp.hook_shared_expert_gate`, the sigmoid scale
/// `[batch, pos, 1]`.
public struct MixtureOfExperts {
    /// The router (`mlp.gate`), `[experts, dModel]`.
    public var router: Linear
    /// The experts, gated MLPs of equal shape.
    public var experts: [FeedForward]
    /// How many experts each token is routed to (`num_experts_per_tok`).
    public let expertsPerToken: Int
    /// Whether the chosen experts' probabilities are divided by their sum (`norm_topk_prob`).
    public let normalizesTopK: Bool
    /// Qwen2-MoE's shared expert and its gate (`shared_expert_gate`, `[1, dModel]`); nil for none.
    public var shared: (expert: FeedForward, gate: Linear)?
    /// `blocks.L.mlp.experts.E.{hook_gate, hook_pre, hook_post}` per expert.
    public let expertHookNames: [(gate: String, input: String, post: String)]
    /// `blocks.L.mlp.shared_expert.{hook_gate, hook_pre, hook_post}` and `blocks.L.mlp.hook_shared_expert_gate`.
    public let sharedExpertHookNames: (gate: String, input: String, post: String, scale: String)

    /// Every hook point of the experts, routed and shared (none of them a ``HookPoint``), in forward order.
    public var expertHookPointNames: [String] {
        let s = sharedExpertHookNames
        return expertHookNames.flatMap { [$0.gate, $0.input, $0.post] } + (shared == nil ? [] : [s.gate, s.input, s.post, s.scale])
    }

    public init(layer: Int, router: Linear, experts: [FeedForward], expertsPerToken: Int, normalizesTopK: Bool,
                shared: (expert: FeedForward, gate: Linear)? = nil) {
        precondition(router.outputSize == experts.count, "the router scores \(router.outputSize) experts, \(experts.count) given")
        precondition(expertsPerToken >= 1 && expertsPerToken <= experts.count,
                     "\(expertsPerToken) experts per token out of \(experts.count)")
        self.router = router; self.experts = experts
        self.expertsPerToken = expertsPerToken; self.normalizesTopK = normalizesTopK
        precondition(shared.map { $0.gate.outputSize == 1 } ?? true, "the shared expert's gate has one output")
        self.shared = shared
        let s = "blocks.\(layer).mlp.shared_expert."
        sharedExpertHookNames = (s + "hook_gate", s + "hook_pre", s + "hook_post", "blocks.\(layer).mlp.hook_shared_expert_gate")
        expertHookNames = experts.indices.map { e in
            let p = "blocks.\(layer).mlp.experts.\(e)."
            return (p + "hook_gate", p + "hook_pre", p + "hook_post")
        }
    }

    /// The MLP on `x` `[..., dModel]`.
    public func callAsFunction(_ x: Tensor, hooks: ForwardHooks?, names: BlockHookNames) -> Tensor {
        let width = x.shape.last!, leading = Array(x.shape.dropLast())
        let rows = x.reshaped([-1, width]), tokens = rows.shape[0], k = expertsPerToken
        let logits = hooks.apply(names.routerLogits, router(x))
        let probabilities = hooks.apply(names.expertWeights, logits.softmax(axis: -1)).reshaped([tokens, experts.count])
        let chosen = routing(probabilities, leading: leading, hooks: hooks, name: names.expertIndices)
        var weights = probabilities.reshaped([-1]).indexSelect(axis: 0, chosen.enumerated().map { $0.offset / k * experts.count + $0.element })
            .reshaped([tokens, k])
        if normalizesTopK { weights = weights / weights.sum(axis: -1, keepingDimension: true) }
        weights = hooks.apply(names.topKWeights, weights.reshaped(leading + [k])).reshaped([-1])
        var slots = [[Int]](repeating: [], count: experts.count)
        for (slot, expert) in chosen.enumerated() { slots[expert].append(slot) }
        let parts = experts.indices.filter { !slots[$0].isEmpty }.map { e -> (rows: [Int], values: Tensor) in
            let routed = slots[e].map { $0 / k }
            let names = expertHookNames[e]
            let output = experts[e](rows.indexSelect(axis: 0, routed), hooks: hooks, gateName: names.gate,
                                    inputName: names.input, postName: names.post)
            return (routed, output * weights.indexSelect(axis: 0, slots[e]).reshaped([-1, 1]))
        }
        let routed = Tensor.scatterAddingRows(parts, rowCount: tokens, width: width).reshaped(leading + [width])
        guard let shared else { return routed }
        let names = sharedExpertHookNames
        let output = shared.expert(x, hooks: hooks, gateName: names.gate, inputName: names.input, postName: names.post)
        return routed + output * hooks.apply(names.scale, shared.gate(x).sigmoid())
    }

    /// The chosen experts, `k` per token, best first (flat, token-major): the `k` most probable, equal probabilities
    /// broken as `torch.topk` breaks them (``RouterTopK``); or, when a hook replaces `hook_expert_indices`, the hook's.
    private func routing(_ probabilities: Tensor, leading: [Int], hooks: ForwardHooks?, name: String) -> [Int] {
        let n = experts.count
        let chosen = probabilities.scalars.withUnsafeBufferPointer { values in
            (0..<(values.count / n)).flatMap { RouterTopK.indices(values[($0 * n)..<(($0 + 1) * n)], k: expertsPerToken) }
        }
        guard hooks.wants(name) else { return chosen }
        let hooked = hooks.apply(name, Tensor(shape: leading + [expertsPerToken], scalars: chosen.map(Float.init)))
        precondition(hooked.count == chosen.count, "\(name) must keep its shape \(leading + [expertsPerToken]), got \(hooked.shape)")
        return hooked.scalars.map { value in
            let expert = Int(value.rounded())
            precondition(Float(expert) == value && expert >= 0 && expert < experts.count,
                         "\(name): \(value) is not an expert index in 0..<\(experts.count)")
            return expert
        }
    }
}
