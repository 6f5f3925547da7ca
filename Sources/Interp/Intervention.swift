
/// A change to one activation during a forward pass, described as data so that it can be saved, shown
/// and replayed; ``Operation/custom(_:)`` is the escape hatch for anything else.
///
/// ```swift
/// let ablate = Intervention(at: .z(1), heads: [4], .zero)
/// let steer = Intervention(at: "blocks.3.hook_resid_post", .add(direction * 4))
/// let (logits, _) = try model.run(batch, interventions: [ablate, steer])
/// ```
public struct Intervention {
    /// What to do to the selected part of the activation.
    public enum Operation {
        /// Set to zero.
        case zero
        /// Replace by the mean over the batch axis.
        case meanOverBatch
        /// Replace by a reference activation's mean over its batch axis (e.g. from a reference set).
        case meanOf(Tensor)
        /// Multiply by a factor.
        case scale(Float)
        /// Add a tensor (broadcast against the activation), e.g. a steering vector `[dModel]`.
        case add(Tensor)
        /// Add row `i` of a tensor whose first axis indexes positions (`[n, …]`, the rest the activation's shape
        /// after its batch and position axes) at absolute position `i < n`, to every sequence of the batch; later
        /// positions are unchanged. Activation addition's injection at the front of the prompt (see
        /// ``Intervention/activationAddition(model:at:plus:minus:padding:coefficient:)``); during generation each
        /// new position below `n` gets its row too.
        case addFromStart(Tensor)
        /// Replace with a tensor of the activation's shape (or one that broadcasts to it).
        case replace(Tensor)
        /// Replace with another run's activation at the same hook; `positionMap[i]` gives the source
        /// position for target position `i` (identity when nil).
        case patch(from: ActivationCache, positionMap: [Int]?)
        /// Limit values to a range.
        case clamp(min: Float, max: Float)
        /// Add Gaussian noise with a fixed seed.
        case noise(standardDeviation: Float, seed: UInt64)
        /// Any function of the activation.
        case custom((Tensor) -> Tensor)
    }

    /// The hook point (any spelling ``HookNameResolver`` accepts).
    public var hook: String
    /// Positions to change (nil: all); absolute positions, also during incremental decoding.
    public var positions: [Int]?
    /// Heads to change, for per-head activations (nil: all).
    public var heads: [Int]?
    public var operation: Operation

    public init(at hook: String, positions: [Int]? = nil, heads: [Int]? = nil, _ operation: Operation) {
        self.hook = hook
        self.positions = positions
        self.heads = heads
        self.operation = operation
    }

    /// An intervention at a hook point of the registry.
    public init(at point: HookPoint, positions: [Int]? = nil, heads: [Int]? = nil, _ operation: Operation) {
        self.init(at: point.name, positions: positions, heads: heads, operation)
    }

    /// The value the operation gives for the whole activation, before the selection is applied.
    func target(for activation: Tensor, name: String, positionOffset: Int) -> Tensor {
        switch operation {
        case .zero: return Tensor.zeros(activation.shape)
        case .meanOverBatch: return activation.mean(axis: 0, keepingDimension: true).broadcast(to: activation.shape)
        case .meanOf(let reference): return reference.mean(axis: 0, keepingDimension: true).broadcast(to: activation.shape)
        case .scale(let factor): return activation * factor
        case .add(let delta): return activation + delta
        case .addFromStart(let rows):
            precondition(ActivationLayout(canonicalName: name).positionAxis == 1, "'\(name)' has no position axis after its batch axis")
            return activation + Self.rows(rows, from: positionOffset, count: activation.shape[1])
        case .replace(let value): return value.broadcast(to: activation.shape)
        case let .patch(cache, positionMap):
            guard let source = cache.activations[name] else {
                preconditionFailure("patch source has no cached '\(name)'")
            }
            let axis = ActivationLayout(canonicalName: name).positionAxis
            let count = activation.shape[axis]
            let map = (0..<count).map { positionMap?[$0 + positionOffset] ?? ($0 + positionOffset) }
            return source.indexSelect(axis: axis, map)
        case let .clamp(lower, upper): return activation.clamped(min: lower, max: upper)
        case let .noise(deviation, seed):
            var generator = SeededGenerator(seed: seed &+ UInt64(positionOffset))
            return activation + Tensor.randomNormal(activation.shape, standardDeviation: deviation, using: &generator)
        case .custom(let function): return function(activation)
        }
    }

    /// Rows `offset ..< offset + count` of `rows` (zero past its end) as a `[1, count, …]` tensor.
    private static func rows(_ rows: Tensor, from offset: Int, count: Int) -> Tensor {
        let rowShape = Array(rows.shape.dropFirst()), available = Swift.max(0, Swift.min(count, rows.shape[0] - offset))
        let taken = available > 0 ? rows.indexSelect(axis: 0, Array(offset..<offset + available)) : nil
        let padding = count > available ? Tensor.zeros([count - available] + rowShape) : nil
        let window = [taken, padding].compactMap { $0 }
        return (window.count == 1 ? window[0] : Tensor.concatenate(window, axis: 0)).reshaped([1, count] + rowShape)
    }

    /// Applies the intervention to an activation at hook `name`.
    public func apply(to activation: Tensor, name: String, positionOffset: Int = 0) -> Tensor {
        let changed = target(for: activation, name: name, positionOffset: positionOffset)
        guard positions != nil || heads != nil else { return changed }
        let mask = ActivationLayout(canonicalName: name).mask(shape: activation.shape, positions: positions,
                                                     heads: heads, positionOffset: positionOffset)
        return activation + (changed - activation) * mask
    }
}

extension ActivationLayout {
    /// The layout of the hook point named `name` (canonical); a residual-stream layout for any other name.
    init(canonicalName name: String) {
        self = HookPoint(name: name)?.layout ?? HookPoint.Kind.residPre.layout
    }

    /// 1 on the selected entries, 0 elsewhere; broadcastable to `shape`.
    func mask(shape: [Int], positions: [Int]?, heads: [Int]?, positionOffset: Int) -> Tensor {
        var maskShape = [Int](repeating: 1, count: shape.count)
        maskShape[positionAxis] = shape[positionAxis]
        if let headAxis { maskShape[headAxis] = shape[headAxis] }
        let posSet = positions.map(Set.init), headSet = heads.map(Set.init)
        let strides = Tensor(repeating: 0, shape: maskShape).strides
        return Tensor.build(shape: maskShape) { out in
            for i in 0..<out.count {
                let p = (i / strides[positionAxis]) % maskShape[positionAxis] + positionOffset
                let h = headAxis.map { (i / strides[$0]) % maskShape[$0] }
                let inPositions = posSet?.contains(p) ?? true
                let inHeads = h.map { headSet?.contains($0) ?? true } ?? true
                out[i] = inPositions && inHeads ? 1 : 0
            }
        }
    }
}

extension TransformerModel {
    /// Registers interventions as hooks; several at one hook point compose in order.
    public func register(_ interventions: [Intervention], on hooks: ForwardHooks) throws {
        try register(interventions, on: hooks, resolver: hookNameResolver)
    }

    /// Registers interventions whose names `resolver` resolves (the model's, plus any spliced SAE's activations).
    func register(_ interventions: [Intervention], on hooks: ForwardHooks, resolver: HookNameResolver) throws {
        for intervention in interventions {
            let name = try resolver.resolve(intervention.hook)
            if let heads = intervention.heads, let bad = heads.first(where: { $0 < 0 || $0 >= headCount }) {
                throw InterventionError.headOutOfRange(hook: name, head: bad, headCount: headCount)
            }
            hooks.add(name) { activation, context in
                intervention.apply(to: activation, name: context.name, positionOffset: context.positionOffset)
            }
        }
    }

    /// Runs the model with interventions: ``trace(_:cache:interventions:hooks:gradients:logitPositions:byteLimit:)``
    /// with interventions and, if a filter is given, a cache.
    public func run(_ batch: TokenBatch, interventions: [Intervention], cacheFilter: ActivationFilter? = nil,
                    logitPositions: LogitPositions = .all) throws -> (logits: Tensor, cache: ActivationCache?) {
        let trace = try trace(batch, cache: cacheFilter, interventions: interventions, logitPositions: logitPositions, byteLimit: nil)
        return (trace.logits, cacheFilter.map { _ in trace.activations })
    }
}

/// An intervention that cannot apply to the model.
public enum InterventionError: Error, CustomStringConvertible, Equatable {
    case headOutOfRange(hook: String, head: Int, headCount: Int)

    public var description: String {
        switch self {
        case let .headOutOfRange(hook, head, count):
            return "head \(head) at '\(hook)' is out of range: the model has \(count) heads per layer (0...\(count - 1))"
        }
    }
}
