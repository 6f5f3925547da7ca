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
/// Both runs are cached once. A patched run restarts from the cached residual stream before the patched
/// layer, several patched runs share one batched forward pass, and only the read positions are unembedded.
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
    let targetBatch: TokenBatch
    let targetCache: ActivationCache
    let sourceCache: ActivationCache
    /// Upper bound on the rows (examples × variants) of one batched patched forward pass.
    public var maxRowsPerPass = 256

    public init(model: TransformerModel, pairs: PromptPairs, metric: Metric, direction: PatchDirection = .denoising) throws {
        self.model = model
        self.pairs = pairs
        self.metric = metric
        self.direction = direction
        // Both prompts of a pair have the same length, so `.last` reads each example at `pairs.readPositions`.
        let (cleanLogits, cleanCache) = try model.runWithCache(pairs.clean, filter: .standard, logitPositions: .last)
        let (corruptedLogits, corruptedCache) = try model.runWithCache(pairs.corrupted, filter: .standard, logitPositions: .last)
        cleanValue = metric(cleanLogits).item
        corruptedValue = metric(corruptedLogits).item
        switch direction {
        case .denoising: (targetBatch, targetCache, sourceCache) = (pairs.corrupted, corruptedCache, cleanCache)
        case .noising: (targetBatch, targetCache, sourceCache) = (pairs.clean, cleanCache, corruptedCache)
        }
    }

    /// The metric of each patched run: for each mask, the activation at `hook` in block `layer` is
    /// `target + mask * (source − target)`. Every mask has the activation's rank, `examples` rows, and
    /// either the activation's extent or 1 on each other axis (see ``PatchMask``).
    public func patchedMetrics(hook: String, layer: Int, masks: [Tensor]) -> [Float] {
        guard let source = sourceCache.activations[hook], let target = targetCache.activations[hook] else {
            preconditionFailure("\(hook) is not cached")
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
        let examples = pairs.count
        let perPass = Swift.max(1, maxRowsPerPass / examples)
        var results = [Float](repeating: direction == .denoising ? corruptedValue : cleanValue, count: masks.count)
        var start = 0
        while start < changing.count {
            let chunk = Array(changing[start..<Swift.min(start + perPass, changing.count)])
            for (i, value) in zip(chunk, patchedChunk(hook: hook, layer: layer, source: source, masks: chunk.map { masks[$0] })) {
                results[i] = value
            }
            start += chunk.count
        }
        return results
    }

    private func patchedChunk(hook: String, layer: Int, source: Tensor, masks: [Tensor]) -> [Float] {
        let variants = masks.count, examples = pairs.count
        let batch = targetBatch.repeated(variants)
        let sourceRows = Tensor.concatenate(Array(repeating: source, count: variants), axis: 0)
        let mask = Tensor.concatenate(masks, axis: 0)
        let hooks = ForwardHooks()
        hooks.add(hook) { activation, _ in activation + (sourceRows - activation) * mask }
        let start = targetCache.activations["blocks.\(layer).hook_resid_pre"]!
        let residual = Tensor.concatenate(Array(repeating: start, count: variants), axis: 0)
        let context = AttentionContext(batch: batch)
        let final = model.runBlocks(layer..<model.layerCount, residual: residual, context: context, hooks: hooks)
        let logits = model.unembed(final.gather(positions: batch.lastPositions), hooks: nil)
        return (0..<variants).map { v in metric(logits.slice(axis: 0, (v * examples)..<((v + 1) * examples))).item }
    }
}
