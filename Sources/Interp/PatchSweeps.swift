/// The activations a patching sweep can replace.
public enum PatchComponent: String, CaseIterable, Sendable, Codable {
    case residPre = "resid_pre", residMid = "resid_mid", residPost = "resid_post"
    case attnOut = "attn_out", mlpOut = "mlp_out"
    /// Each head's output, patched at `attn.hook_z` (before the output projection).
    case headOut = "head_out"
    case q, k, v
    case pattern

    /// The hook point the component is patched at, in block `layer`.
    public func point(layer: Int) -> HookPoint {
        switch self {
        case .residPre: return .residPre(layer)
        case .residMid: return .residMid(layer)
        case .residPost: return .residPost(layer)
        case .attnOut: return .attnOut(layer)
        case .mlpOut: return .mlpOut(layer)
        case .headOut: return .z(layer)
        case .q: return .q(layer)
        case .k: return .k(layer)
        case .v: return .v(layer)
        case .pattern: return .pattern(layer)
        }
    }

    /// Whether the activation has a head axis.
    public var isPerHead: Bool { ![.residPre, .residMid, .residPost, .attnOut, .mlpOut].contains(self) }
}

/// How a sweep slices an activation.
public enum PatchGranularity: String, Sendable, Codable {
    /// `[layer, position]` (residual-stream components) or `[layer, head]` over all positions (per-head ones).
    case standard
    /// `[layer, position, head]` for per-head components.
    case byPosition
    /// `[layer, head, destination, source]` for the attention pattern.
    case destinationSource
}

extension PatchGranularity {
    /// The labelled axes of a sweep's result.
    func axes(for component: PatchComponent, layerCount: Int, positions: [String], heads: [String]) throws -> [PatchingResult.Axis] {
        let layer = PatchingResult.Axis(name: "layer", labels: (0..<layerCount).map(String.init))
        let position = PatchingResult.Axis(name: "position", labels: positions)
        let head = PatchingResult.Axis(name: "head", labels: heads)
        switch (component.isPerHead, self) {
        case (false, _): return [layer, position]
        case (true, .standard): return [layer, head]
        case (true, .byPosition): return [layer, position, head]
        case (true, .destinationSource):
            guard component == .pattern else { throw PatchingError.unsupported(component: component, granularity: self) }
            return [layer, head, .init(name: "destination", labels: positions), .init(name: "source", labels: positions)]
        }
    }
}

/// Which positions a sweep visits.
public enum PatchPositions: Sendable {
    /// Every position index `0..<length`.
    case all
    /// Named positions of ``PromptPairs/positionLabels``; each example uses its own index.
    case labels([String])
}

/// Builds masks selecting positions, heads and keys of an activation.
enum PatchMask {
    /// A mask of `rank` axes: `examples` rows, the given extents on the position/head/key axes, 1 elsewhere;
    /// 1 where example `b`'s position is `positions[b]` (all if nil), head in `heads`, key is `keys[b]`.
    static func make(layout: ActivationLayout, activationShape: [Int], positions: [Int]?, heads: [Int]?, keys: [Int]? = nil) -> Tensor {
        precondition(keys == nil || layout.keyAxis != nil, "a key selection needs a key axis")
        var shape = [Int](repeating: 1, count: activationShape.count)
        shape[0] = activationShape[0]
        if positions != nil { shape[layout.positionAxis] = activationShape[layout.positionAxis] }
        if heads != nil, let h = layout.headAxis { shape[h] = activationShape[h] }
        if keys != nil, let k = layout.keyAxis { shape[k] = activationShape[k] }
        let strides = Tensor.zeros(shape).strides
        return Tensor.build(shape: shape) { out in
            for i in 0..<out.count {
                let b = i / strides[0]
                var selected = true
                if let positions { selected = selected && (i / strides[layout.positionAxis]) % shape[layout.positionAxis] == positions[b] }
                if let heads, let h = layout.headAxis { selected = selected && heads.contains((i / strides[h]) % shape[h]) }
                if let keys, let k = layout.keyAxis { selected = selected && (i / strides[k]) % shape[k] == keys[b] }
                out[i] = selected ? 1 : 0
            }
        }
    }
}

extension ActivationPatching {
    /// Patches `component` at every layer and at every position / head (see ``PatchGranularity``).
    ///
    /// Matches TransformerLens' `get_act_patch_resid_pre`, `get_act_patch_attn_head_out_all_pos`,
    /// `get_act_patch_attn_head_out_by_pos`, `get_act_patch_attn_head_pattern_dest_src_pos`, ... for the
    /// denoising direction.
    public func sweep(_ component: PatchComponent, granularity: PatchGranularity = .standard,
                      positions: PatchPositions = .all) throws -> PatchingResult {
        try sweep(component, granularity: granularity, positions: positions, progress: nil)
    }

    /// ``sweep(_:granularity:positions:)`` where `progress` hears the cells patched so far and their total after
    /// each layer.
    public func sweep(_ component: PatchComponent, granularity: PatchGranularity = .standard, positions: PatchPositions = .all,
                      progress: ((_ done: Int, _ total: Int) -> Void)?) throws -> PatchingResult {
        let examples = pairs.count, length = pairs.length
        let (positionLabels, positionIndex): ([String], [[Int]]) = try {
            switch positions {
            case .all: return ((0..<length).map(String.init), (0..<length).map { p in Array(repeating: p, count: examples) })
            case .labels(let names):
                return (names, try names.map { name in
                    guard let indices = pairs.positionLabels[name] else {
                        throw PromptPairsError.badLabel(label: name, reason: "is not defined for these prompts")
                    }
                    return indices
                })
            }
        }()
        var values: [Float] = []
        for layer in 0..<model.layerCount {
            let point = component.point(layer: layer), layout = point.layout
            let shape = try sourceCache[point].shape
            let headCount = layout.headAxis.map { shape[$0] } ?? 0
            var masks: [Tensor] = []
            switch (component.isPerHead, granularity) {
            case (false, _):
                masks = positionIndex.map { PatchMask.make(layout: layout, activationShape: shape, positions: $0, heads: nil) }
            case (true, .standard):
                masks = (0..<headCount).map { PatchMask.make(layout: layout, activationShape: shape, positions: nil, heads: [$0]) }
            case (true, .byPosition):
                masks = positionIndex.flatMap { p in
                    (0..<headCount).map { PatchMask.make(layout: layout, activationShape: shape, positions: p, heads: [$0]) }
                }
            case (true, .destinationSource):
                guard component == .pattern else { throw PatchingError.unsupported(component: component, granularity: granularity) }
                masks = (0..<headCount).flatMap { h in
                    positionIndex.flatMap { dest in
                        positionIndex.map { src in
                            PatchMask.make(layout: layout, activationShape: shape, positions: dest, heads: [h], keys: src)
                        }
                    }
                }
            }
            values += patchedMetrics(at: point, masks: masks)
            progress?(values.count, masks.count * model.layerCount)
        }
        let first = component.point(layer: 0), firstShape = try sourceCache[first].shape
        let heads = (0..<(first.layout.headAxis.map { firstShape[$0] } ?? 0)).map(String.init)
        let axes = try granularity.axes(for: component, layerCount: model.layerCount, positions: positionLabels, heads: heads)
        return PatchingResult(component: component.rawValue, axes: axes, values: values, metric: metric.name,
                              direction: direction.rawValue, cleanValue: cleanValue, corruptedValue: corruptedValue)
    }
}

/// A sweep that cannot be run.
public enum PatchingError: Error, CustomStringConvertible, Equatable {
    case unsupported(component: PatchComponent, granularity: PatchGranularity)

    public var description: String {
        switch self {
        case let .unsupported(component, granularity):
            return "granularity '\(granularity.rawValue)' does not apply to component '\(component.rawValue)'"
        }
    }
}
