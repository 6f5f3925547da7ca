/// Patched forward passes over one cached run: the engine behind activation patching and edge patching.
///
/// A patched pass repeats the run's batch once per variant (one variant = one patch), resumes from the run's
/// cached residual stream before the first block a patch touches (nothing earlier changes), runs the
/// remaining blocks with the hooks that apply the patches, and unembeds only the read positions (each
/// sequence's last token). ``metrics(_:run:)`` splits many variants into passes of at most
/// ``maxRowsPerPass`` rows and reads the metric of each variant.
///
/// ```swift
/// let runs = try PatchedRuns(model: model, batch: pairs.corrupted, cache: corruptedCache, metric: metric)
/// let values = runs.metrics(masks) { chunk in
///     let hooks = ForwardHooks()
///     hooks.add(.z(2)) { z, _ in /* patch each variant's rows */ z }
///     return runs.logits(variants: chunk.count, from: 2, hooks: hooks)
/// }
/// ```
public struct PatchedRuns {
    public let model: TransformerModel
    /// The run being patched.
    public let batch: TokenBatch
    /// Its residual stream before each block, then after the last: `layerCount + 1` tensors `[batch, pos, dModel]`.
    public let residuals: [Tensor]
    public let metric: Metric
    /// Upper bound on the rows (examples × variants) of one batched forward pass.
    public var maxRowsPerPass = 256

    public init(model: TransformerModel, batch: TokenBatch, residuals: [Tensor], metric: Metric) {
        precondition(residuals.count == model.layerCount + 1, "one residual stream per block and the final one expected")
        self.model = model
        self.batch = batch
        self.residuals = residuals
        self.metric = metric
    }

    /// The residual streams from a cache of the run that holds every `resid_pre` and the last `resid_post`.
    public init(model: TransformerModel, batch: TokenBatch, cache: ActivationCache, metric: Metric) throws {
        self.init(model: model, batch: batch, residuals: try Self.cachedPoints(of: model).map { try cache[$0] }, metric: metric)
    }

    /// The hook points a cache needs for ``init(model:batch:cache:metric:)``.
    public static func cachedPoints(of model: TransformerModel) -> [HookPoint] {
        (0..<model.layerCount).map(HookPoint.residPre) + [.residPost(model.layerCount - 1)]
    }

    /// `[variants * batch, vocab]` logits at the read positions of `variants` copies of the run (variant-major
    /// rows), resumed before block `startLayer` (`layerCount`: after the last block) with `hooks`; `final`, if
    /// given, changes the last residual stream `[variants * batch, pos, dModel]` before the unembedding.
    public func logits(variants: Int, from startLayer: Int, hooks: ForwardHooks?,
                       final: ((Tensor) -> Tensor)? = nil) -> Tensor {
        let repeatedBatch = batch.repeated(variants)
        let start = residuals[startLayer]
        var residual = start.repeatedAlongBatch(variants)
        if startLayer < model.layerCount {
            residual = model.runBlocks(startLayer..<model.layerCount, residual: residual,
                                       context: AttentionContext(batch: repeatedBatch), hooks: hooks)
        }
        if let final { residual = final(residual) }
        let logits = model.unembed(residual.gather(positions: repeatedBatch.lastPositions), hooks: nil)
        return logits.reshaped([variants * batch.batchSize, -1])
    }

    /// The metric of each variant: `run` gets a chunk of at most ``maxRowsPerPass`` rows' worth of variants and
    /// returns their logits as ``logits(variants:from:hooks:final:)`` does.
    public func metrics<Variant>(_ variants: [Variant], run: ([Variant]) -> Tensor) -> [Float] {
        let examples = batch.batchSize
        let perPass = Swift.max(1, maxRowsPerPass / examples)
        var results: [Float] = []
        results.reserveCapacity(variants.count)
        var start = 0
        while start < variants.count {
            let chunk = Array(variants[start..<Swift.min(start + perPass, variants.count)])
            let logits = run(chunk)
            results += (0..<chunk.count).map { v in metric(logits.slice(axis: 0, (v * examples)..<((v + 1) * examples))).item }
            start += chunk.count
        }
        return results
    }
}
