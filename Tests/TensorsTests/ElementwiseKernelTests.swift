import Foundation
import Testing
import Tensors

/// The vectorized, parallel elementwise, activation and rotary kernels against references computed element by
/// element, on odd sizes (partial SIMD blocks) and on sizes large enough to split over threads, with 1 and 2 threads.
@Suite struct ElementwiseKernelTests {
    /// `body` run with 1 and with 2 threads; the results must be bitwise equal.
    private func withOneAndTwoThreads(_ body: () -> Tensor) -> Tensor {
        let threads = Parallel.threadCount
        defer { Parallel.threadCount = threads }
        Parallel.threadCount = 1
        let serial = body()
        Parallel.threadCount = 2
        let parallel = body()
        #expect(serial.shape == parallel.shape)
        #expect(zip(serial.scalars, parallel.scalars).allSatisfy { $0.bitPattern == $1.bitPattern })
        return parallel
    }

    /// `a op b` element by element, `b` repeated along `a`'s leading axes.
    private func reference(_ a: Tensor, _ b: Tensor, _ op: (Float, Float) -> Float) -> [Float] {
        a.scalars.indices.map { op(a.scalars[$0], b.scalars[$0 % b.count]) }
    }

    private func expectSameFloats(_ actual: [Float], _ expected: [Float]) {
        #expect(actual.count == expected.count)
        let mismatches = zip(actual, expected).filter { !($0 == $1 || ($0.isNaN && $1.isNaN)) }.count
        #expect(mismatches == 0)
    }

    @Test(arguments: [[3, 13], [5, 7, 19], [3, 21_851]])
    func sameShapeArithmeticEqualsScalarLoop(shape: [Int]) {
        var a = Tensor.random(shape, in: -4...4, seed: 11).scalars, b = Tensor.random(shape, in: -4...4, seed: 12).scalars
        // Zeros, infinities and NaN go through the kernel as through the scalar operation.
        a[0] = 0; b[0] = 0; a[1] = .infinity; b[2] = .nan; b[3] = 0
        let (x, y) = (Tensor(shape: shape, scalars: a), Tensor(shape: shape, scalars: b))
        expectSameFloats(withOneAndTwoThreads { x + y }.scalars, reference(x, y, +))
        expectSameFloats(withOneAndTwoThreads { x - y }.scalars, reference(x, y, -))
        expectSameFloats(withOneAndTwoThreads { x * y }.scalars, reference(x, y, *))
        expectSameFloats(withOneAndTwoThreads { x / y }.scalars, reference(x, y, /))
    }

    @Test(arguments: [([5, 7, 13], [13]), ([300, 257], [257]), ([2, 150, 9, 3], [9, 3]), ([4, 37], [4, 37])])
    func rowBroadcastArithmeticEqualsScalarLoop(shape: [Int], rowShape: [Int]) {
        let a = Tensor.random(shape, in: -4...4, seed: 21), b = Tensor.random(rowShape, in: -4...4, seed: 22)
        expectSameFloats(withOneAndTwoThreads { a + b }.scalars, reference(a, b, +))
        expectSameFloats(withOneAndTwoThreads { a - b }.scalars, reference(a, b, -))
        expectSameFloats(withOneAndTwoThreads { a * b }.scalars, reference(a, b, *))
        expectSameFloats(withOneAndTwoThreads { a / b }.scalars, reference(a, b, /))
    }

    /// Leading axes of size 1 on either side broadcast as usual (the result has the larger rank) and take the row
    /// kernel: each element is still the one IEEE operation.
    @Test(arguments: [([37, 13], [1, 37, 13], [1, 37, 13]), ([1, 1, 40, 9], [9], [1, 1, 40, 9]),
                      ([3, 21], [1, 1, 21], [1, 3, 21]), ([1, 5, 11], [5, 11], [1, 5, 11])])
    func leadingUnitAxesBroadcast(shape: [Int], otherShape: [Int], resultShape: [Int]) {
        let a = Tensor.random(shape, in: -4...4, seed: 23), b = Tensor.random(otherShape, in: -4...4, seed: 24)
        let difference = withOneAndTwoThreads { a - b }
        #expect(difference.shape == resultShape)
        expectSameFloats(difference.scalars, reference(a, b, -))
        expectSameFloats(withOneAndTwoThreads { a * b }.scalars, reference(a, b, *))
    }

    @Test func arithmeticGradientsAreUnchanged() {
        let a = Tensor.random([6, 11], seed: 31), b = Tensor.random([11], in: 1...2, seed: 32)
        let g = Tensor.random([6, 11], seed: 33)
        let grads = tapeGradients([a, b], upstreams: [g]) { [$0[0] / $0[1]] }
        expectSameFloats(grads[0].scalars, reference(g, b, /))
        // d(a / b)/db = -a / b², summed over the rows.
        let expected = (0..<11).map { j in
            (0..<6).reduce(Float(0)) { total, i in total - g[i, j] * a[i, j] / (b[j] * b[j]) }
        }
        #expect(zip(grads[1].scalars, expected).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    /// `x` `[batch, pos, heads, headDim]` rotated by `sign ·` the angles `position · θ_i`, in Double, with the
    /// plain frequencies `base^(-2i / rotaryDim)`.
    private func rotaryReference(_ x: Tensor, positions: [[Int]], headDim: Int, rotaryDim: Int, sign: Double) -> [Double] {
        let heads = x.shape[2], half = rotaryDim / 2
        var out = x.scalars.map(Double.init)
        for (token, position) in positions.joined().enumerated() {
            for head in 0..<heads {
                let base = (token * heads + head) * headDim
                for i in 0..<half {
                    let angle = sign * Double(position) * Foundation.pow(10_000, -Double(2 * i) / Double(rotaryDim))
                    let x1 = Double(x.scalars[base + i]), x2 = Double(x.scalars[base + half + i])
                    out[base + i] = x1 * Foundation.cos(angle) - x2 * Foundation.sin(angle)
                    out[base + half + i] = x2 * Foundation.cos(angle) + x1 * Foundation.sin(angle)
                }
            }
        }
        return out
    }

    @Test(arguments: [(1, 3, 3, 10, 6), (2, 300, 5, 22, 18), (1, 40, 9, 64, 64)])
    func rotaryEqualsDoublePrecisionRotation(batch: Int, length: Int, heads: Int, headDim: Int, rotaryDim: Int) {
        let x = Tensor.random([batch, length, heads, headDim], seed: 41)
        let positions = (0..<batch).map { b in (0..<length).map { 3 * b + $0 } }
        let rope = RotaryEmbedding(headDim: headDim, rotaryDim: rotaryDim)
        let rotated = withOneAndTwoThreads { rope.apply(to: x, positions: positions) }
        let expected = rotaryReference(x, positions: positions, headDim: headDim, rotaryDim: rotaryDim, sign: 1)
        // Angles up to ~600 rad are rounded to Float in the tables: about 1e-4 of error at the largest positions.
        #expect(zip(rotated.scalars, expected).allSatisfy { abs(Double($0) - $1) < 2e-4 })
        // Dimensions past rotaryDim are copied.
        #expect(rotated.slice(axis: 3, rotaryDim..<headDim) == x.slice(axis: 3, rotaryDim..<headDim))
        // The gradient is the inverse rotation of the upstream gradient.
        let g = Tensor.random(x.shape, seed: 42)
        let gradient = withOneAndTwoThreads { tapeGradients([x], upstreams: [g]) { [rope.apply(to: $0[0], positions: positions)] }[0] }
        let inverse = rotaryReference(g, positions: positions, headDim: headDim, rotaryDim: rotaryDim, sign: -1)
        #expect(zip(gradient.scalars, inverse).allSatisfy { abs(Double($0) - $1) < 2e-4 })
    }

    /// Values over the activations' interesting range, with exact zeros, huge magnitudes and infinities.
    private static func activationInputs(_ count: Int) -> Tensor {
        var x = Tensor.random([count], in: -12...12, seed: 51).scalars
        for (i, special) in [Float(0), -0.0, 100, -100, .infinity, -.infinity, 1e-30, 88.5, -88.5].enumerated() {
            x[i + 3] = special
        }
        return Tensor(shape: [count], scalars: x)
    }

    private static let activations: [(String, (Tensor) -> Tensor)] = [
        ("gelu", { $0.gelu() }), ("geluTanh", { $0.gelu(approximate: .tanh) }), ("silu", { $0.silu() }),
        ("sigmoid", { $0.sigmoid() }), ("relu", { $0.relu() }),
    ]

    @Test(arguments: [37, 70_001])
    func activationsGiveEachElementTheBitsOfItsOwnCall(count: Int) {
        let x = Self.activationInputs(count)
        for (name, activation) in Self.activations {
            let y = withOneAndTwoThreads { activation(x) }
            // A single element is computed by the 8-lane body alone; long rows mostly by the widest one.
            let stride = Swift.max(1, count / 500)
            let mismatched = Swift.stride(from: 0, to: count, by: stride).filter { i in
                activation(Tensor(shape: [1], scalars: [x.scalars[i]])).scalars[0].bitPattern != y.scalars[i].bitPattern
            }
            #expect(mismatched.isEmpty, "\(name): \(mismatched.prefix(5))")
        }
    }

    @Test func activationsMatchDoublePrecisionFormulas() {
        let x = Self.activationInputs(1_000).slice(axis: 0, 20..<1_000)
        let values = x.scalars.map(Double.init)
        let formulas: [(Tensor, (Double) -> Double)] = [
            (x.silu(), { $0 / (1 + Foundation.exp(-$0)) }),
            (x.sigmoid(), { 1 / (1 + Foundation.exp(-$0)) }),
            (x.gelu(approximate: .tanh), { 0.5 * $0 * (1 + Foundation.tanh(0.7978845608028654 * ($0 + 0.044715 * $0 * $0 * $0))) }),
            (x.gelu(), { 0.5 * $0 * Foundation.erfc(-$0 / 2.0.squareRoot()) }),
        ]
        for (actual, formula) in formulas {
            for (a, v) in zip(actual.scalars, values) {
                #expect(abs(Double(a) - formula(v)) <= 1e-6 * Swift.max(1, abs(v)))
            }
        }
    }

    @Test(arguments: [37, 70_001])
    func gatedActivationsGiveEachElementTheBitsOfItsOwnCall(count: Int) {
        let x = Self.activationInputs(count), up = Tensor.random([count], in: -3...3, seed: 52)
        let gated = withOneAndTwoThreads { x.siluGated(up) }, geglu = withOneAndTwoThreads { x.geluGated(up, approximate: .tanh) }
        let stride = Swift.max(1, count / 500)
        for i in Swift.stride(from: 0, to: count, by: stride) {
            let xi = Tensor(shape: [1], scalars: [x.scalars[i]]), ui = Tensor(shape: [1], scalars: [up.scalars[i]])
            #expect(xi.siluGated(ui).scalars[0].bitPattern == gated.scalars[i].bitPattern)
            #expect(xi.geluGated(ui, approximate: .tanh).scalars[0].bitPattern == geglu.scalars[i].bitPattern)
        }
    }
}
