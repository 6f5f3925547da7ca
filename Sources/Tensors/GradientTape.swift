/// Reverse-mode automatic differentiation.
///
/// A tape records an operation only when at least one of its inputs is tracked, and a tensor becomes
/// tracked only through ``GradientTape/watch(_:)``. Without a tape nothing is recorded and operations
/// cost what they cost.
///
/// ```swift
/// let x = Tensor(shape: [3], scalars: [1, 2, 3])
/// let grad = withGradients { tape in
///     let xw = tape.watch(x)
///     let loss = (xw * xw).sum()
///     return tape.gradient(of: loss, withRespectTo: xw)   // 2x
/// }
/// ```
///
/// Gradients of activations work the same way: watch the activation where it is produced (for example in
/// a hook) and let the watched tensor flow on.
///
/// Recorded operations hold their inputs, and tracked tensors hold the tape, so the records form a cycle;
/// ``withGradients(_:)`` breaks it by releasing the records when its scope ends.
public final class GradientTape {
    /// One recorded operation: its tracked inputs and how to map the output's gradient to theirs.
    struct Entry {
        let inputs: [Int?]
        let inputShapes: [[Int]]
        let backward: (Tensor) -> [Tensor?]
    }

    private(set) var entries: [Entry] = []
    /// False once the `withGradients` scope that owns the tape has ended.
    public internal(set) var isRecording = true
    /// True once the records have been dropped (the `withGradients` scope ended).
    private(set) var isReleased = false

    public init() {}

    /// Returns `tensor` tracked by this tape: operations on it are recorded.
    ///
    /// Watching a tensor that is already tracked (an activation computed from other watched tensors) adds
    /// an identity step, so its gradient is the total derivative and gradients still flow on to its inputs.
    public func watch(_ tensor: Tensor) -> Tensor {
        var tracked = tensor
        if let link = tensor.tracking, link.tape === self {
            let entry = Entry(inputs: [link.index], inputShapes: [tensor.shape], backward: { g in [g] })
            tracked.tracking = Tracking(tape: self, index: append(entry))
        } else {
            tracked.tracking = Tracking(tape: self, index: append(Entry(inputs: [], inputShapes: [], backward: { _ in [] })))
        }
        return tracked
    }

    /// Stops recording and drops every record, breaking the tape -> record -> tensor -> tape cycle.
    func release() {
        isRecording = false
        isReleased = true
        entries = []
    }

    func append(_ entry: Entry) -> Int {
        entries.append(entry)
        return entries.count - 1
    }

    /// The gradient of a scalar `output` with respect to each tensor in `inputs`.
    ///
    /// Inputs that `output` does not depend on get a zero gradient of their own shape.
    public func gradients(of output: Tensor, withRespectTo inputs: [Tensor], seed: Tensor? = nil) -> [Tensor] {
        precondition(!isReleased, "gradients asked of a tape whose withGradients scope has ended")
        precondition(seed != nil || output.count == 1, "gradient of a non-scalar output needs a seed, shape is \(output.shape)")
        guard let root = output.tracking, root.tape === self else {
            return inputs.map { Tensor.zeros($0.shape) }
        }
        var grads = [Tensor?](repeating: nil, count: root.index + 1)
        grads[root.index] = seed ?? Tensor(repeating: 1, shape: output.shape)
        let wanted = Set(inputs.compactMap { $0.tracking?.tape === self ? $0.tracking!.index : nil })
        let lowest = wanted.min() ?? 0
        let wasRecording = isRecording
        isRecording = false
        defer { isRecording = wasRecording }
        for index in stride(from: root.index, through: lowest, by: -1) {
            guard let grad = grads[index] else { continue }
            let entry = entries[index]
            if entry.inputs.isEmpty { continue }
            let inputGrads = entry.backward(grad)
            for (slot, input) in entry.inputs.enumerated() {
                guard let input, let g = inputGrads[slot] else { continue }
                let shaped = g.shape == entry.inputShapes[slot] ? g : g.sum(toShape: entry.inputShapes[slot])
                grads[input] = grads[input].map { $0 + shaped } ?? shaped
            }
            if !wanted.contains(index) { grads[index] = nil }
        }
        return inputs.map { input in
            guard let link = input.tracking, link.tape === self, let g = grads[link.index] else {
                return Tensor.zeros(input.shape)
            }
            return g.detached
        }
    }

    /// The gradient of a scalar `output` with respect to one tensor.
    public func gradient(of output: Tensor, withRespectTo input: Tensor, seed: Tensor? = nil) -> Tensor {
        gradients(of: output, withRespectTo: [input], seed: seed)[0]
    }
}

/// The link from a tracked tensor to the tape entry that produced it.
struct Tracking {
    let tape: GradientTape
    let index: Int
}

/// Runs `body` with a fresh gradient tape; tensors it watches are tracked until `body` returns.
public func withGradients<Result>(_ body: (GradientTape) throws -> Result) rethrows -> Result {
    let tape = GradientTape()
    defer { tape.release() }
    return try body(tape)
}

extension Tensor {
    /// Attaches `self` (the output of an operation on `inputs`) to the tape of any tracked input.
    ///
    /// `backward` maps the gradient of the output to one gradient per input (nil where none flows);
    /// a gradient of a broadcast shape is summed back to its input's shape by the tape.
    public func recorded(from inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard let tape = Tensor.recordingTape(inputs) else { return self }
        return attached(to: tape, inputs: inputs, backward: backward)
    }

    /// The recording tape that any of `inputs` is tracked by.
    static func recordingTape(_ inputs: [Tensor]) -> GradientTape? {
        for input in inputs {
            if let link = input.tracking, link.tape.isRecording { return link.tape }
        }
        return nil
    }

    func attached(to tape: GradientTape, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        let entry = GradientTape.Entry(
            inputs: inputs.map { $0.tracking?.tape === tape ? $0.tracking!.index : nil },
            inputShapes: inputs.map(\.shape),
            backward: backward)
        var result = self
        result.tracking = Tracking(tape: tape, index: tape.append(entry))
        return result
    }
}
