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
/// unembedded. A patched run recomputes only the examples the patch changes, from the first changed position on,
/// attending to the target run's cached keys and values before it (see ``recomputesChangedPositionsOnly``).
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
    /// The target run's keys and values and read logits, for patched runs that recompute the changed positions only.
    let changedPositionRuns: ChangedPositionRuns
    /// Whether a patched run recomputes only the examples the patch changes, from the first position it changes up to
    /// the read positions (true), or every position of every example (false); the metrics are the same up to rounding.
    public var recomputesChangedPositionsOnly = true
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
        changedPositionRuns = ChangedPositionRuns(runs)
    }

    /// The metric of each patched run: for each mask, the activation at `point` (a point inside a block) is
    /// `target + mask * (source − target)`. Every mask has the activation's rank, `examples` rows, and
    /// either the activation's extent or 1 on each other axis (see ``PatchMask``).
    public func patchedMetrics(at point: HookPoint, masks: [Tensor]) -> [Float] {
        guard let layer = point.layer, let source = sourceCache.activations[point.name],
              let target = targetCache.activations[point.name] else {
            preconditionFailure("\(point) is not a cached block activation")
        }
        guard recomputesChangedPositionsOnly else { return fullPatchedMetrics(at: point, layer: layer, source: source, target: target, masks: masks) }
        var changedRuns = changedPositionRuns
        changedRuns.runs.maxRowsPerPass = maxRowsPerPass
        let layout = point.layout
        let patched = changes(of: masks, layout: layout, source: source, target: target, runs: changedRuns)
        return changedRuns.metrics(patched, layer: layer) { pass in
            let mask = Tensor.concatenate(pass.runs.map { layout.part(of: masks[$0.variant], rows: $0.rows, positions: pass.positions) }, axis: 0)
            let sourceRows = layout.part(of: source, rows: pass.rows, positions: pass.positions)
            let hooks = ForwardHooks()
            hooks.add(point) { activation, _ in activation + (sourceRows - activation) * mask }
            return hooks
        }
    }

    /// What each mask's patch changes: where `|source − target| · mask`, summed over every axis but the
    /// examples and positions, is nonzero. The sum runs over each mask's broadcast axes first, once per mask shape,
    /// so it costs about a mask's size.
    private func changes(of masks: [Tensor], layout: ActivationLayout, source: Tensor, target: Tensor,
                         runs: ChangedPositionRuns) -> [ChangedPositionRuns.Change] {
        let magnitude = (source - target).abs(), positionAxis = layout.positionAxis
        var reduced: [[Int]: Tensor] = [:]
        return masks.map { mask in
            let shape = mask.shape
            if reduced[shape] == nil {
                reduced[shape] = shape.indices.reduce(magnitude) { t, axis in
                    axis != 0 && axis != positionAxis && shape[axis] == 1 && t.shape[axis] != 1 ? t.sum(axis: axis, keepingDimension: true) : t
                }
            }
            let weighted = reduced[shape]! * mask
            let perPosition = weighted.shape.indices.reduce(weighted) { t, axis in
                axis != 0 && axis != positionAxis && t.shape[axis] != 1 ? t.sum(axis: axis, keepingDimension: true) : t
            }
            let length = perPosition.shape[positionAxis], values = perPosition.scalars
            return runs.change { row, position in values[row * length + (length == 1 ? 0 : position)] != 0 }
        }
    }

    /// ``patchedMetrics(at:masks:)`` recomputing every position of every example from block `layer` on.
    private func fullPatchedMetrics(at point: HookPoint, layer: Int, source: Tensor, target: Tensor, masks: [Tensor]) -> [Float] {
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
