import Testing
import Tensors

/// Checks tape gradients against central finite differences of `L(x) = sum(f(x) * u)` for a fixed random
/// upstream `u`: `dL/dx_i ≈ (L(x + ε e_i) - L(x - ε e_i)) / 2ε`, with `L` accumulated in Double.
///
/// Returns the largest error as a fraction of `max(1, max |analytic gradient|)` of each input.
/// Inputs must be well conditioned: away from kinks (abs, relu, max, clamp) by more than `epsilon`.
func finiteDifferenceError(_ inputs: [Tensor], epsilon: Float = 1e-2, _ f: ([Tensor]) -> Tensor) -> Float {
    let upstream = Tensor.random(f(inputs).shape, seed: 99)
    func loss(_ xs: [Tensor]) -> Double {
        zip(f(xs).scalars, upstream.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    let analytic = tapeGradients(inputs, upstreams: [upstream]) { [f($0)] }
    var worst: Float = 0
    for (k, input) in inputs.enumerated() {
        let magnitude = max(1, analytic[k].scalars.map(abs).max() ?? 0)
        for i in 0..<input.count {
            var plus = inputs, minus = inputs
            var up = input.scalars, down = input.scalars
            up[i] += epsilon
            down[i] -= epsilon
            plus[k] = Tensor(shape: input.shape, scalars: up)
            minus[k] = Tensor(shape: input.shape, scalars: down)
            let numeric = (loss(plus) - loss(minus)) / Double(up[i] - down[i])
            worst = max(worst, Float(abs(numeric - Double(analytic[k].scalars[i]))) / magnitude)
        }
    }
    return worst
}

/// Values in ±[0.2, 1.2]: at least 0.2 away from 0, for functions with a kink there.
private func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
    let x = Tensor.random(shape, in: 0.2...1.2, seed: seed)
    let signs = Tensor.random(shape, seed: seed + 1)
    return Tensor(shape: shape, scalars: zip(x.scalars, signs.scalars).map { $1 < 0 ? -$0 : $0 })
}

/// Distinct values spaced 0.1 apart in a shuffled order, so that maxima are unambiguous.
private func distinct(_ shape: [Int], seed: UInt64) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    let count = shape.reduce(1, *)
    return Tensor(shape: shape, scalars: (0..<count).map { Float($0) * 0.1 - 1 }.shuffled(using: &generator))
}

private func r(_ shape: [Int], _ seed: UInt64, _ range: ClosedRange<Float> = -1...1) -> Tensor {
    Tensor.random(shape, in: range, seed: seed)
}

private let rope = RotaryEmbedding(headDim: 6, rotaryDim: 4, base: 100)
private let padding = Tensor(shape: [2, 4], scalars: [0, 1, 1, 1, 1, 1, 1, 1])

/// Every differentiable operation, with small well-conditioned inputs.
let gradientCases: [String: (inputs: [Tensor], f: ([Tensor]) -> Tensor)] = [
    "add": ([r([2, 3, 4], 1), r([3, 1], 2)], { $0[0] + $0[1] }),
    "subtract": ([r([4], 1), r([2, 3, 4], 2)], { $0[0] - $0[1] }),
    "multiply": ([r([2, 1, 4], 1), r([3, 1], 2)], { $0[0] * $0[1] }),
    "divide": ([r([2, 3], 1), r([3], 2, 0.5...2)], { $0[0] / $0[1] }),
    "negate": ([r([5], 1)], { -$0[0] }),
    "scalar arithmetic": ([r([5], 1)], { (2 - $0[0] * 3 + 1) / 4 }),
    "exp": ([r([2, 4], 1)], { $0[0].exp() }),
    "log": ([r([2, 4], 1, 0.5...2)], { $0[0].log() }),
    "sqrt": ([r([2, 4], 1, 0.5...2)], { $0[0].sqrt() }),
    "squared": ([r([2, 4], 1)], { $0[0].squared() }),
    "tanh": ([r([2, 4], 1)], { $0[0].tanh() }),
    "abs": ([awayFromZero([2, 4], seed: 1)], { $0[0].abs() }),
    "pow": ([r([2, 4], 1, 0.5...2)], { $0[0].pow(2.5) }),
    "clamped": ([Tensor(shape: [5], scalars: [-0.9, -0.3, 0.1, 0.45, 0.8])], { $0[0].clamped(min: -0.5, max: 0.5) }),
    "replacing": ([r([2, 3], 1), r([3], 2)], {
        $0[0].replacing(where: Tensor(shape: [2, 3], scalars: [1, 0, 1, 0, 0, 1]), with: $0[1])
    }),
    "sum axis": ([r([2, 3, 4], 1)], { $0[0].sum(axis: 1) }),
    "sum all": ([r([2, 3], 1)], { $0[0].sum() }),
    "mean axis": ([r([2, 3, 4], 1)], { $0[0].mean(axis: -1, keepingDimension: true) }),
    "mean all": ([r([2, 3], 1)], { $0[0].mean() }),
    "variance": ([r([3, 5], 1)], { $0[0].variance(axis: 1) }),
    "max": ([distinct([3, 4, 2], seed: 1)], { $0[0].max(axis: 1) }),
    "min": ([distinct([3, 4], seed: 1)], { $0[0].min(axis: 0, keepingDimension: true) }),
    "reshaped": ([r([2, 6], 1)], { $0[0].reshaped([3, -1]) * $0[0].reshaped([3, 4]) }),
    "unsqueezed squeezed": ([r([2, 3], 1)], { $0[0].unsqueezed(1).squeezed(1).unsqueezed(-1) }),
    "permuted": ([r([2, 3, 4], 1)], { $0[0].permuted([2, 0, 1]) }),
    "transposed": ([r([2, 3, 4], 1)], { $0[0].transposed(0, 2) }),
    "slice": ([r([2, 5, 3], 1)], { $0[0].slice(axis: 1, 1..<4) }),
    "select": ([r([2, 5, 3], 1)], { $0[0].select(axis: -1, 1) }),
    "indexSelect": ([r([4, 3], 1)], { $0[0].indexSelect(axis: 0, [3, 0, 3]) }),
    "scatterAddingRows": ([r([3, 2], 1), r([2, 2], 2)], {
        Tensor.scatterAddingRows([(rows: [4, 0, 4], values: $0[0]), (rows: [0, 2], values: $0[1])], rowCount: 5, width: 2)
    }),
    "concatenate": ([r([2, 3], 1), r([2, 2], 2)], { Tensor.concatenate([$0[0], $0[1], $0[0]], axis: 1) }),
    "stack": ([r([2, 3], 1), r([2, 3], 2)], { Tensor.stack($0, axis: 2) }),
    "broadcast": ([r([3, 1], 1)], { $0[0].broadcast(to: [2, 3, 4]) }),
    "matmul": ([r([2, 3, 4], 1), r([4, 5], 2)], { $0[0].matmul($0[1]) }),
    "matmul transposed": ([r([2, 1, 4, 3], 1), r([3, 5, 4], 2)], {
        $0[0].matmul($0[1], transposeSelf: true, transposeOther: true)
    }),
    "groupedMatmul rows": ([r([2, 3, 4], 1), r([6, 4], 2)], { $0[0].groupedMatmul($0[1], blocks: .rows) }),
    "groupedMatmul columns": ([r([2, 3, 2], 1), r([5, 6], 2)], { $0[0].groupedMatmul($0[1], blocks: .columns) }),
    "softmax": ([r([3, 6], 1, -2...2)], { $0[0].softmax() }),
    "softmax axis 0": ([r([3, 4], 1, -2...2)], { $0[0].softmax(axis: 0) }),
    "logSoftmax": ([r([3, 6], 1, -2...2)], { $0[0].logSoftmax() }),
    "layerNorm": ([r([3, 10], 1, -2...2), r([10], 2), r([10], 3)], { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }),
    "layerNorm scale": ([r([3, 10], 1, -2...2)], { $0[0].layerNormWithScale().scale }),
    "rmsNorm": ([r([3, 10], 1, -2...2), r([10], 2)], { $0[0].rmsNorm(weight: $0[1]) }),
    "rmsNorm scale": ([r([3, 10], 1, -2...2)], { $0[0].rmsNormWithScale().scale }),
    "gelu": ([r([12], 1, -3...3)], { $0[0].gelu() }),
    "gelu tanh": ([r([12], 1, -3...3)], { $0[0].gelu(approximate: .tanh) }),
    "silu": ([r([12], 1, -3...3)], { $0[0].silu() }),
    "sigmoid": ([r([12], 1, -3...3)], { $0[0].sigmoid() }),
    "relu": ([awayFromZero([12], seed: 1)], { $0[0].relu() }),
    "rotary": ([r([2, 3, 2, 6], 1)], { rope.apply(to: $0[0], positions: [[0, 1, 2], [1, 0, 1]]) }),
    "attention scores": ([r([2, 4, 3, 5], 1), r([2, 2, 3, 5], 2)], { attentionScores(query: $0[0], key: $0[1]) }),
    "attention output": ([r([2, 4, 3, 5], 1), r([2, 2, 5, 3], 2)], { attentionOutput(pattern: $0[0], value: $0[1]) }),
    "attention": ([r([2, 4, 4, 3], 1), r([2, 2, 4, 3], 2), r([2, 2, 4, 3], 3)], {
        scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], paddingMask: padding).output
    }),
    "attention pattern": ([r([2, 4, 4, 3], 1), r([2, 2, 4, 3], 2), r([2, 2, 4, 3], 3)], {
        scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], paddingMask: padding).pattern
    }),
    "crossEntropy": ([r([4, 5], 1, -2...2)], { crossEntropy(logits: $0[0], targets: [1, 4, 0, 1]) }),
    "embedding": ([r([5, 3], 1)], { embedding(table: $0[0], ids: [[4, 1, 4], [0, 2, 1]]) }),
]

@Suite struct GradientCheckTests {
    @Test(arguments: gradientCases.keys.sorted())
    func tapeGradientMatchesFiniteDifferences(_ name: String) throws {
        let testCase = try #require(gradientCases[name])
        let error = finiteDifferenceError(testCase.inputs, testCase.f)
        #expect(error < 2e-3, "\(name): relative gradient error \(error)")
    }

    @Test func checkerDetectsAWrongGradient() {
        // x * stopGradient(x) has tape gradient x, but the true derivative of x² is 2x.
        let error = finiteDifferenceError([Tensor.random([4], in: 0.5...1, seed: 1)]) { $0[0] * $0[0].detached }
        #expect(error > 0.1)
    }
}
