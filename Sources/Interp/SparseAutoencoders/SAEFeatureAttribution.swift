/// Attribution patching of SAE features (Marks et al. 2024, "Sparse Feature Circuits", node attribution): for each
/// feature `f` of each spliced SAE, at each position, `(f(corrupted) − f(clean)) · ∂m/∂f` at the clean run, and the
/// same for each SAE's error node `x − x̂` (summed over its width), summed over the examples.
///
/// The SAEs are spliced with their error terms, so both runs compute exactly the model's activations and the
/// gradients are the true model's; two forward passes and one backward pass in all (``TransformerModel/trace(_:saes:cache:interventions:hooks:gradients:logitPositions:byteLimit:)``).
///
/// ```swift
/// let attribution = try SAEFeatureAttribution(model: model, saes: [sae], pairs: pairs,
///                                             metric: .logitDifference(answers: pairs.answers, wrongs: pairs.wrongs))
/// let result = try attribution.attribute()
/// for entry in result.top(10) { print(entry.node, entry.score) }
/// ```
public struct SAEFeatureAttribution {
    public let model: TransformerModel
    /// The SAEs, with canonical hook names and their error terms kept.
    public let saes: [SparseAutoencoder]
    public let pairs: PromptPairs
    public let metric: Metric

    /// The estimates of one SAE.
    public struct Scores {
        /// The SAE's canonical hook point.
        public let hook: String
        /// `[positions, dSAE]`: each feature's estimated effect on the metric of patching it at one position.
        public let features: Tensor
        /// `[positions]`: the error node's.
        public let error: Tensor

        /// `[dSAE]`: each feature's estimate at every position at once (the sum over positions).
        public var featureTotals: Tensor { features.sum(axis: 0) }
        /// The error node's estimate at every position at once.
        public var errorTotal: Float { error.sum().item }
    }

    /// One node's estimate: a feature (`"<hook>/f17@3"`) or an error node (`"<hook>/error@3"`), at a position or
    /// (no `@`) summed over positions.
    public struct Entry: Equatable, Sendable {
        public let node: String
        public let hook: String
        /// The feature, or nil for the error node.
        public let feature: Int?
        /// The position, or nil for the sum over positions.
        public let position: Int?
        public let score: Float
    }

    /// The result of ``attribute()``.
    public struct Result {
        public let scores: [Scores]
        /// The metric of the clean and corrupted runs.
        public let cleanValue: Float, corruptedValue: Float

        /// The `count` nodes with the largest |score|, per position (`byPosition`) or summed over positions.
        public func top(_ count: Int, byPosition: Bool = true) -> [Entry] {
            var entries: [Entry] = []
            for sae in scores {
                let width = sae.features.shape[1]
                if byPosition {
                    for (i, score) in sae.features.scalars.enumerated() {
                        let (p, f) = (i / width, i % width)
                        entries.append(Entry(node: "\(sae.hook)/f\(f)@\(p)", hook: sae.hook, feature: f, position: p, score: score))
                    }
                    for (p, score) in sae.error.scalars.enumerated() {
                        entries.append(Entry(node: "\(sae.hook)/error@\(p)", hook: sae.hook, feature: nil, position: p, score: score))
                    }
                } else {
                    for (f, score) in sae.featureTotals.scalars.enumerated() {
                        entries.append(Entry(node: "\(sae.hook)/f\(f)", hook: sae.hook, feature: f, position: nil, score: score))
                    }
                    entries.append(Entry(node: "\(sae.hook)/error", hook: sae.hook, feature: nil, position: nil, score: sae.errorTotal))
                }
            }
            return Array(entries.sorted { abs($0.score) > abs($1.score) }.prefix(count))
        }
    }

    /// Throws when an SAE's hook is not a hook point of the model, or two SAEs share one.
    public init(model: TransformerModel, saes: [SparseAutoencoder], pairs: PromptPairs, metric: Metric) throws {
        let resolver = model.hookNameResolver
        let kept = try saes.map { sae in
            var kept = sae
            kept.configuration.hookName = try resolver.resolve(sae.hookName)
            kept.usesErrorTerm = true
            return kept
        }
        var seen = Set<String>()
        for sae in kept where !seen.insert(sae.hookName).inserted { throw SparseAutoencoderError.duplicateHook(sae.hookName) }
        self.saes = kept
        self.model = model
        self.pairs = pairs
        self.metric = metric
    }

    /// Runs the corrupted prompts, then the clean prompts with gradients, and multiplies.
    public func attribute() throws -> Result {
        let names = saes.flatMap { [$0.hookName(.featureActivations), $0.hookName(.error)] }
        let corrupted = try model.trace(pairs.corrupted, saes: saes, cache: .names(names), logitPositions: .last)
        let clean = try model.trace(pairs.clean, saes: saes, cache: .names(names),
                                    gradients: GradientRequest(of: { metric($0) }, at: names), logitPositions: .last)
        func product(_ name: String) throws -> Tensor {
            (try corrupted.activations[name] - clean.activations[name]) * clean.gradients[name]!
        }
        let scores = try saes.map { sae in
            Scores(hook: sae.hookName, features: try product(sae.hookName(.featureActivations)).sum(axis: 0),
                   error: try product(sae.hookName(.error)).sum(axis: 2).sum(axis: 0))
        }
        return Result(scores: scores, cleanValue: metric(clean.logits).item, corruptedValue: metric(corrupted.logits).item)
    }
}
