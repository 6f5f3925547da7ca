import Testing
import Tensors

/// The batched input-gradient helpers equal the gradient tape's gradients of the ops they shortcut.
@Suite struct GroupGradientTests {
    @Test(arguments: [true, false]) func normInputGradientsEqualTapeGradientsPerGroup(layerNorm: Bool) {
        let x = Tensor.random([2, 3, 24], in: -2...2, seed: 11)
        let weight = Tensor.random([24], in: 0.5...1.5, seed: 12)
        let upstream = Tensor.random([4, 2, 3, 24], seed: 13)
        let batched = layerNorm ? x.layerNormInputGradients(upstream, weight: weight)
                                : x.rmsNormInputGradients(upstream, weight: weight)
        #expect(batched.shape == upstream.shape)
        for g in 0..<4 {
            let seed = upstream.select(axis: 0, g)
            let expected = tapeGradients([x], upstreams: [seed]) { inputs in
                [layerNorm ? inputs[0].layerNorm(weight: weight) : inputs[0].rmsNorm(weight: weight)]
            }[0]
            #expect(batched.select(axis: 0, g).maxAbsDifference(expected) < 1e-5, "group \(g)")
        }
    }

    @Test func groupMajorInputGradientsEqualTheSplitProjectionsGradient() {
        let x = Tensor.random([2, 5, 3, 8], seed: 21)          // [batch, pos, groups, k]
        let weight = Tensor.random([3 * 4, 8], seed: 22)       // 3 row blocks of [4, 8]
        let upstream = Tensor.random([2, 5, 3, 4], seed: 23)   // gradient of the [batch, pos, groups, 4] output
        let expected = tapeGradients([x], upstreams: [upstream]) { [$0[0].groupedMatmul(weight, blocks: .rows)] }[0]
        let groupMajor = upstream.groupMajorInputGradients(rowBlocksOf: weight)
        #expect(groupMajor.shape == [3, 2, 5, 8])
        #expect(groupMajor.permuted([1, 2, 0, 3]).maxAbsDifference(expected) < 1e-5)
    }
}

/// The input gradient of `x · Wᵀ` when the upstream gradient touches few outputs (read from a few rows of W).
@Suite struct SparseUpstreamGradientTests {
    @Test(arguments: [0, 2, 40]) func equalsTheDenseProduct(nonzeroColumns: Int) {
        let x = Tensor.random([2, 3, 16], seed: 31)
        let weight = Tensor.random([200, 16], seed: 32)           // 200 outputs
        var upstream = [Float](repeating: 0, count: 2 * 3 * 200)
        var generator = SeededGenerator(seed: 33)
        for c in 0..<nonzeroColumns {
            let row = Int.random(in: 0..<6, using: &generator), column = (c * 37) % 200
            upstream[row * 200 + column] = Float.random(in: -1...1, using: &generator)
        }
        let seed = Tensor(shape: [2, 3, 200], scalars: upstream)
        let gradient = tapeGradients([x], upstreams: [seed]) { [$0[0].matmul(weight, transposeOther: true)] }[0]
        let dense = seed.reshaped([6, 200]).matmul(weight).reshaped([2, 3, 16])
        #expect(gradient.shape == [2, 3, 16])
        #expect(gradient.maxAbsDifference(dense) < 1e-5)
    }
}
