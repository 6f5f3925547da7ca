/// Which run is patched with which run's activations.
public enum PatchDirection: String, Sendable, Codable {
    /// Run the corrupted prompts with clean activations patched in (TransformerLens' `patching` module).
    case denoising
    /// Run the clean prompts with corrupted activations patched in.
    case noising
}

/// Activation patching: rerun one input while replacing an activation (at some positions and heads) with
/// its value from the other input, and measure the metric.
///
/// Both runs are cached once. Patched runs go through ``PatchedRuns``: each restarts from the cached residual
/// stream before the patched layer, several share one batched forward pass, and only the read positions are
/// unembedded.
///
/// ```swift
/// let patching = try ActivationPatching(model: model, pairs: pairs, metric: .logitDifference(answers: a, wrongs: w))
/// let result = try patching.sweep(.residPre)        // [layer, position]
/// print(result.table)
/// ```
public struct ActivationPatching {
    public let model: TransformerModel
    public let pairs: PromptPairs
    public let metric: Metric
    public let direction: PatchDirection
    /// The metric on the unpatched clean and corrupted runs.
    public let cleanValue: Float
    public let corruptedValue: Float
    let targetCache: ActivationCache
    let sourceCache: ActivationCache
    /// The patched runs of the target run.
    var runs: PatchedRuns
    /// Upper bound on the rows (examples × variants) of one batched patched forward pass.
    public var maxRowsPerPass: Int {
        get { runs.maxRowsPerPass }
        set { runs.maxRowsPerPass = newValue }
    }

    /// Caches both runs: with `components`, only what patching them needs (their points in both runs, and the
    /// residual stream the patched runs resume from in the target run); without, every standard hook point.
    public init(model: TransformerModel, pairs: PromptPairs, metric: Metric, direction: PatchDirection = .denoising,
                components: [PatchComponent]? = nil) throws {
        self.model = model
        self.pairs = pairs
        self.metric = metric
        self.direction = direction
        let patched = components.map { components in
            components.flatMap { c in (0..<model.layerCount).map(c.point) }.filter(model.has)
        }
        func filter(target: Bool) -> ActivationFilter {
            guard let patched else { return .standard }
            return .points(Array(Set(patched + (target ? PatchedRuns.cachedPoints(of: model) : []))))
        }
        let cleanIsTarget = direction == .noising
        // Both prompts of a pair have the same length, so `.last` reads each example at `pairs.readPositions`.
        let (cleanLogits, cleanCache) = try model.runWithCache(pairs.clean, filter: filter(target: cleanIsTarget), logitPositions: .last)
        let (corruptedLogits, corruptedCache) = try model.runWithCache(pairs.corrupted, filter: filter(target: !cleanIsTarget),
                                                                       logitPositions: .last)
        cleanValue = metric(cleanLogits).item
        corruptedValue = metric(corruptedLogits).item
        let targetBatch: TokenBatch
        switch direction {
        case .denoising: (targetBatch, targetCache, sourceCache) = (pairs.corrupted, corruptedCache, cleanCache)
        case .noising: (targetBatch, targetCache, sourceCache) = (pairs.clean, cleanCache, corruptedCache)
        }
        runs = try PatchedRuns(model: model, batch: targetBatch, cache: targetCache, metric: metric)
    }

    /// The metric of each patched run: for each mask, the activation at `point` (a point inside a block) is
    /// `target + mask * (source − target)`. Every mask has the activation's rank, `examples` rows, and
    /// either the activation's extent or 1 on each other axis (see ``PatchMask``).
    public func patchedMetrics(at point: HookPoint, masks: [Tensor]) -> [Float] {
        guard let layer = point.layer, let source = sourceCache.activations[point.name],
              let target = targetCache.activations[point.name] else {
            preconditionFailure("\(point) is not a cached block activation")
        }
        // A patch that replaces values by equal values (e.g. positions before the first corrupted token) is the
        // unpatched target run: its metric is known without a forward pass.
        // The check reads |source − target| summed over each mask's broadcast axes, once per mask shape, so
        // it costs a mask's size rather than the activation's.
        let magnitude = (source - target).abs()
        var reduced: [[Int]: Tensor] = [:]
        let changing = masks.indices.filter { m in
            let shape = masks[m].shape
            if reduced[shape] == nil {
                reduced[shape] = shape.indices.reduce(magnitude) { t, axis in
                    shape[axis] == 1 && t.shape[axis] != 1 ? t.sum(axis: axis, keepingDimension: true) : t
                }
            }
            return (reduced[shape]! * masks[m]).scalars.contains { $0 != 0 }
        }
        var results = [Float](repeating: direction == .denoising ? corruptedValue : cleanValue, count: masks.count)
        let values = runs.metrics(changing) { chunk in
            let mask = Tensor.concatenate(chunk.map { masks[$0] }, axis: 0)
            let sourceRows = source.repeatedAlongBatch(chunk.count)
            let hooks = ForwardHooks()
            hooks.add(point) { activation, _ in activation + (sourceRows - activation) * mask }
            return runs.logits(variants: chunk.count, from: layer, hooks: hooks)
        }
        for (i, value) in zip(changing, values) { results[i] = value }
        return results
    }
}
