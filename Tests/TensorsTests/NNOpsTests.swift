import Foundation
import Testing
import Tensors

/// Properties of the NN ops that the PyTorch fixtures do not pin down.
@Suite struct NNOpsTests {
    @Test func softmaxOfLongRowsMatchesDoublePrecision() {
        let x = Tensor.random([3, 1001], in: -20...20, seed: 5)
        let y = x.softmax()
        for row in 0..<3 {
            let values = x.scalars[(row * 1001)..<((row + 1) * 1001)].map(Double.init)
            let top = values.max()!
            let total = values.reduce(0) { $0 + Foundation.exp($1 - top) }
            for (k, v) in values.enumerated() {
                #expect(abs(Double(y[row, k]) - Foundation.exp(v - top) / total) < 1e-7)
            }
        }
    }

    @Test func fullyMaskedRowsGiveZerosNotNaN() {
        let mask = attentionMask(queryCount: 2, keyCount: 2, paddingMask: Tensor(shape: [1, 2], scalars: [0, 1]))
        #expect(mask.shape == [1, 1, 2, 2])
        #expect(mask.scalars == [-.infinity, -.infinity, -.infinity, 0])
        let pattern = (Tensor.zeros([1, 1, 2, 2]) + mask).softmax()
        #expect(pattern.scalars == [0, 0, 0, 1])
    }

    @Test func slidingWindowHidesKeysTooFarBehind() {
        // Window 2: query i (after one past key) sees keys i and i + 1 only, never a future or padding key.
        let mask = attentionMask(queryCount: 3, keyCount: 4, paddingMask: Tensor(shape: [1, 4], scalars: [1, 1, 0, 1]),
                                 slidingWindow: 2)
        let inf = -Float.infinity
        #expect(mask.scalars == [0, 0, inf, inf,
                                 inf, 0, inf, inf,
                                 inf, inf, inf, 0])
    }

    @Test func gainAppliedAfterNormalizedEqualsFusedNorm() {
        let x = Tensor.random([2, 3, 20], in: -3...3, seed: 1)
        let weight = Tensor.random([20], seed: 2), bias = Tensor.random([20], seed: 3)
        let (normalized, scale) = x.layerNormWithScale()
        #expect((normalized * weight + bias).maxAbsDifference(x.layerNorm(weight: weight, bias: bias)) < 1e-6)
        #expect(scale.shape == [2, 3, 1])
        let (rms, rmsScale) = x.rmsNormWithScale(epsilon: 1e-6)
        #expect((rms * weight).maxAbsDifference(x.rmsNorm(weight: weight, epsilon: 1e-6)) < 1e-6)
        #expect((x * rmsScale).maxAbsDifference(rms) < 1e-6)
    }

    @Test func partialRotaryLeavesTrailingDimensionsAlone() {
        let x = Tensor.random([1, 2, 1, 6], seed: 4)
        let rotated = RotaryEmbedding(headDim: 6, rotaryDim: 4).apply(to: x, positions: [[3, 7]])
        #expect(rotated.slice(axis: 3, 4..<6) == x.slice(axis: 3, 4..<6))
        #expect(rotated.slice(axis: 3, 0..<4).maxAbsDifference(x.slice(axis: 3, 0..<4)) > 0.01)
    }

    @Test func groupedQueryAttentionEqualsRepeatedKeyValueHeads() {
        let q = Tensor.random([1, 4, 3, 5], seed: 1), k = Tensor.random([1, 2, 3, 5], seed: 2)
        let v = Tensor.random([1, 2, 3, 5], seed: 3)
        let repeated = { (t: Tensor) in t.indexSelect(axis: 1, [0, 0, 1, 1]) }
        let grouped = scaledDotProductAttention(query: q, key: k, value: v)
        let full = scaledDotProductAttention(query: q, key: repeated(k), value: repeated(v))
        #expect(grouped.output.maxAbsDifference(full.output) < 1e-6)
        #expect(grouped.pattern.maxAbsDifference(full.pattern) < 1e-6)
    }
}
