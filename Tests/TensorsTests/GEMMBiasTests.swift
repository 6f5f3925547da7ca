import Testing
import Tensors

/// The bias of a GEMM, added in the kernels' epilogue as each element of C is finished: C must equal the product
/// without a bias followed by a separate scalar `+ bias[j]` (the order of the unfused Linear), bit for bit, for every
/// kernel (the blocked drivers, the row-dot-product kernels of few rows, Float32 and both bfloat16 kernels), odd
/// shapes with partial tiles and several depth blocks, split into 1 to 4 parts, with `alpha` and `beta` other than
/// 1 and 0 (the bias addition must not be fused with the multiply that scales the sum).
@Suite struct GEMMBiasTests {
    @Test(arguments: GEMMBlockingTests.Arithmetic.allCases)
    func biasInTheEpilogueEqualsAddingItAfterwards(arithmetic: GEMMBlockingTests.Arithmetic) {
        for (m, n, k) in GEMMBlockingTests.shapes {
            for transposeB in arithmetic == .float32 ? [true, false] : [true] {
                let operands = GEMMBlockingTests.Operands(m: m, n: n, k: k, transposeB: transposeB, arithmetic: arithmetic)
                var values = TestValues(seed: UInt64(m + 3 * n + 5 * k))
                let bias = values.array(n).map { $0 * 4 }
                let initial = values.array(m * n)
                for (alpha, beta) in [(Float(1), Float(0)), (0.75, 0.5)] {
                    let product = operands.product(parts: 1, alpha: alpha, beta: beta, initial: initial)
                    let expected = product.indices.map { product[$0] + bias[$0 % n] }
                    for parts in 1...4 {
                        let fused = operands.product(parts: parts, alpha: alpha, beta: beta, initial: initial, bias: bias)
                        let differing = zip(fused, expected).filter { $0.bitPattern != $1.bitPattern }.count
                        #expect(differing == 0, """
                            \(arithmetic) \(m)x\(n)x\(k) transposeB \(transposeB) alpha \(alpha) beta \(beta), \(parts) parts: \
                            \(differing) elements differ from the product plus the bias
                            """)
                    }
                }
            }
        }
    }

    /// `matmul(_:transposeOther:bias:)` against `matmul` then `+`: the same values, and the same gradients for the
    /// input, the weight and the bias (the bias's being the output gradient summed over the rows).
    @Test func tensorProductWithBiasMatchesTheSeparateAddition() {
        var values = TestValues(seed: 11)
        let x = values.tensor([2, 5, 37]), weight = values.tensor([19, 37]), bias = values.tensor([19])
        let seed = values.tensor([2, 5, 19])
        func gradients(fused: Bool) -> (Tensor, [Tensor]) {
            let tape = GradientTape()
            let (tx, tw, tb) = (tape.watch(x), tape.watch(weight), tape.watch(bias))
            let y = fused ? tx.matmul(tw, transposeOther: true, bias: tb) : tx.matmul(tw, transposeOther: true) + tb
            return (y.detached, tape.gradients(of: y, withRespectTo: [tx, tw, tb], seed: seed))
        }
        let (fusedValue, fusedGradients) = gradients(fused: true)
        let (separateValue, separateGradients) = gradients(fused: false)
        #expect(fusedValue == separateValue)
        #expect(fusedGradients == separateGradients)
        #expect(fusedGradients[2].shape == [19])
    }
}
