/// Attribution patching: the first-order estimate of activation patching for every component at once,
/// `(a_source − a_target) · ∂m/∂a` at the target run, from a forward pass over each run and one backward pass
/// over the target run, with true gradients.
///
/// With ``PatchDirection/noising`` the gradient is taken on the clean run and the source is the corrupted
/// run (the usual definition); with ``PatchDirection/denoising`` the reverse. Each result holds the
/// estimated metric of the patched run: the target run's metric plus the estimated change, so that it
/// reads like an ``ActivationPatching`` result.
///
/// ```swift
/// let attribution = AttributionPatching(model: model, pairs: pairs, metric: metric, direction: .noising)
/// let results = try attribution.attribute([.residPre, .headOut])
/// ```
public struct AttributionPatching {
    public let model: TransformerModel
    public let pairs: PromptPairs
    public let metric: Metric
    public let direction: PatchDirection

    public init(model: TransformerModel, pairs: PromptPairs, metric: Metric, direction: PatchDirection = .noising) {
        self.model = model
        self.pairs = pairs
        self.metric = metric
        self.direction = direction
    }

    /// Estimates every patch of each component at the given granularity.
    public func attribute(_ components: [PatchComponent], granularity: PatchGranularity = .standard) throws -> [PatchingResult] {
        let (target, source) = direction == .denoising ? (pairs.corrupted, pairs.clean) : (pairs.clean, pairs.corrupted)
        let points = Array(Set(components.flatMap { c in (0..<model.layerCount).map(c.point) }))
        // The source run is a plain forward pass that keeps only the attributed points; only the target run is
        // recorded for the backward pass, and each point keeps only its product (a_source − a_target) · ∂m/∂a.
        let (sourceLogits, sourceCache) = try model.runWithCache(source, filter: .points(points), logitPositions: .last)
        let sourceValue = metric(sourceLogits).item
        var products: [String: Tensor] = [:]
        let targetValue: Float = try withGradients { tape in
            let hooks = ForwardHooks()
            let watched = WatchedActivations(points.map(\.name).sorted(), hooks: hooks, tape: tape)
            let value = metric(model.forward(target, hooks: hooks, logitPositions: .last))
            for (name, grad) in watched.gradients(of: value, on: tape) {
                products[name] = (try sourceCache[name] - watched.activations[name]!.detached) * grad
            }
            return value.item
        }
        let (cleanValue, corruptedValue) = direction == .denoising ? (sourceValue, targetValue) : (targetValue, sourceValue)
        return try components.map { component in
            try result(component, granularity: granularity, baseline: targetValue, clean: cleanValue, corrupted: corruptedValue) { layer in
                products[component.point(layer: layer).name]!
            }
        }
    }

    /// Sums per-element attributions `[batch, ...]` into the sweep's cells.
    private func result(_ component: PatchComponent, granularity: PatchGranularity, baseline: Float, clean: Float,
                        corrupted: Float, products: (Int) -> Tensor) throws -> PatchingResult {
        var values: [Float] = []
        var headLabels: [String] = []
        for layer in 0..<model.layerCount {
            let product = products(layer)
            let layout = component.point(layer: layer).layout
            // Sum over the batch and every axis that is not kept: [pos] or [head] or [pos, head] or [head, dest, src].
            var kept: [Int]
            switch (component.isPerHead, granularity) {
            case (false, _): kept = [layout.positionAxis]
            case (true, .standard): kept = [layout.headAxis!]
            case (true, .byPosition): kept = [layout.positionAxis, layout.headAxis!]
            case (true, .destinationSource):
                guard component == .pattern else { throw PatchingError.unsupported(component: component, granularity: granularity) }
                kept = [1, 2, 3]
            }
            var reduced = product
            for axis in (0..<product.rank).reversed() where !kept.contains(axis) { reduced = reduced.sum(axis: axis) }
            values += (reduced + baseline).scalars
            if let h = layout.headAxis { headLabels = (0..<product.shape[h]).map(String.init) }
        }
        let axes = try granularity.axes(for: component, layerCount: model.layerCount,
                                        positions: (0..<pairs.length).map(String.init), heads: headLabels)
        return PatchingResult(component: component.rawValue, axes: axes, values: values, metric: metric.name,
                              direction: direction.rawValue, cleanValue: clean, corruptedValue: corrupted)
    }
}
