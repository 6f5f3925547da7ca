import Foundation
import Tensors

extension Tensor {
    /// Uniform random values in `range`, reproducible from `seed`.
    static func random(_ shape: [Int], in range: ClosedRange<Float> = -1...1, seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return randomUniform(shape, in: range, using: &generator)
    }
}

/// The largest error of `actual` against `expected` as a fraction of `max(1, max |expected|)`, or nil
/// when the shapes differ or a non-finite value does not match exactly.
func relativeError(_ actual: Tensor, _ expected: Tensor) -> Float? {
    guard actual.shape == expected.shape else { return nil }
    let magnitude = max(1, expected.scalars.filter(\.isFinite).map(abs).max() ?? 0)
    var worst: Float = 0
    for (a, e) in zip(actual.scalars, expected.scalars) {
        if !e.isFinite || !a.isFinite {
            guard a == e || (a.isNaN && e.isNaN) else { return nil }
            continue
        }
        worst = max(worst, abs(a - e) / magnitude)
    }
    return worst
}

/// The gradients of `sum_k sum(outputs_k * upstreams_k)` with respect to each input, from the tape.
func tapeGradients(_ inputs: [Tensor], upstreams: [Tensor], _ body: ([Tensor]) -> [Tensor]) -> [Tensor] {
    withGradients { tape in
        let watched = inputs.map { tape.watch($0) }
        let outputs = body(watched)
        let loss = zip(outputs, upstreams).map { ($0 * $1).sum() }.reduce(Tensor(0), +)
        return tape.gradients(of: loss, withRespectTo: watched)
    }
}
