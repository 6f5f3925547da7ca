import Testing
import Tensors

/// GEMM with bfloat16 compute (``ComputePrecision/bfloat16``) against a construction: the double-precision
/// product of A rounded to bfloat16 (by ``HalfPrecision``, an independent rounding) and the widened bfloat16 B, or
/// float16 B widened and then rounded to bfloat16 the same way. Both kernels are checked, the AVX512-BF16 one (when
/// this CPU has it) and the widened fallback.
@Suite struct BFloat16ComputeGEMMTests {
    struct Outcome {
        /// max over C of |got - expected| / (Σ_l |a_l·b_l| + |beta·c|).
        var worstError = 0.0
        /// The same against the product with A not rounded (shows that A was rounded).
        var worstErrorAgainstUnroundedA = 0.0
        /// The same against the product with B widened but not rounded to bfloat16 (shows that float16 B was).
        var worstErrorAgainstUnroundedB = 0.0
        var paddingUntouched = true
    }

    static func run(m: Int, n: Int, k: Int, transposeB: Bool, kernel: GEMM.BFloat16Kernel, beta: Float = 0,
                    format: HalfPrecision.Format = .bfloat16) -> Outcome {
        var values = TestValues(seed: UInt64(m * 10_000 + n * 100 + k) + (transposeB ? 7 : 0))
        let lda = k + 3, bRows = transposeB ? n : k, bColumns = transposeB ? k : n, ldb = bColumns + 1, ldc = n + 2
        let a = values.array(m * lda)
        let roundedA = HalfPrecision.floats(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: a))
        let bits = HalfPrecision.bits(from: values.array(bRows * ldb), format: format)
        let widenedB = format == .bfloat16 ? HalfPrecision.floats(fromBFloat16Bits: bits) : HalfPrecision.floats(fromFloat16Bits: bits)
        let b = HalfPrecision.floats(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: widenedB))
        let original = values.array(m * ldc)
        var c = original
        c.withUnsafeMutableBufferPointer { c in
            GEMM.multiply(m: m, n: n, k: k, a: a, lda: lda, b: bits, format: format, ldb: ldb, transposeB: transposeB,
                          c: c.baseAddress!, ldc: ldc, beta: beta, compute: .bfloat16, bfloat16Kernel: kernel)
        }
        var outcome = Outcome()
        for i in 0..<m {
            for j in 0..<ldc {
                let got = Double(c[i * ldc + j])
                guard j < n else {
                    if got != Double(original[i * ldc + j]) { outcome.paddingUntouched = false }
                    continue
                }
                var (sum, unrounded, unroundedB, magnitude) = (0.0, 0.0, 0.0, 0.0)
                for l in 0..<k {
                    let index = transposeB ? j * ldb + l : l * ldb + j
                    let bl = Double(b[index])
                    sum += Double(roundedA[i * lda + l]) * bl
                    unrounded += Double(a[i * lda + l]) * bl
                    unroundedB += Double(roundedA[i * lda + l]) * Double(widenedB[index])
                    magnitude += abs(Double(roundedA[i * lda + l]) * bl)
                }
                let scaled = Double(beta) * Double(original[i * ldc + j])
                magnitude += abs(scaled)
                guard magnitude > 0 else { continue }
                outcome.worstError = max(outcome.worstError, abs(got - (sum + scaled)) / magnitude)
                outcome.worstErrorAgainstUnroundedA = max(outcome.worstErrorAgainstUnroundedA, abs(got - (unrounded + scaled)) / magnitude)
                outcome.worstErrorAgainstUnroundedB = max(outcome.worstErrorAgainstUnroundedB, abs(got - (unroundedB + scaled)) / magnitude)
            }
        }
        return outcome
    }

    /// Shapes for the row-dot-product kernel (at most 32 rows) and the blocked kernel (more rows): odd depths,
    /// depths past one KC block, column counts that leave partial 48- and 4-column tiles, rows that leave
    /// partial 8- and 4-row tiles; B stored transposed (a Linear weight) and not (the fallback handles it).
    @Test(arguments: GEMM.BFloat16Kernel.allCases)
    func equalsTheFloatProductOfRoundedValues(kernel: GEMM.BFloat16Kernel) {
        let shapes = [(1, 1, 1), (1, 5, 7), (3, 13, 31), (5, 50, 33), (16, 200, 768), (32, 7, 65), (33, 97, 41),
                      (70, 49, 301), (130, 150, 601), (200, 96, 16), (41, 60, 2101)]
        for (m, n, k) in shapes {
            for transposeB in [true, false] {
                for beta: Float in [0, 0.5] {
                    let outcome = Self.run(m: m, n: n, k: k, transposeB: transposeB, kernel: kernel, beta: beta)
                    let label = "\(kernel) \(m)x\(n)x\(k) transposeB \(transposeB) beta \(beta)"
                    #expect(outcome.worstError < 1e-6, "\(label): error \(outcome.worstError)")
                    #expect(outcome.paddingUntouched, "\(label): wrote past column n")
                    if k >= 31 {
                        #expect(outcome.worstErrorAgainstUnroundedA > 1e-5, "\(label): A does not look rounded to bfloat16")
                    }
                }
            }
        }
    }

    /// float16 B under bfloat16 compute: rounded to bfloat16 as it is read or packed, by both kernels, in every
    /// shape of the bfloat16 test (the dot-product kernel's masked tail, the blocked kernel's edge packing, the
    /// fallback's rounded copy of B stored transposed or not).
    @Test(arguments: GEMM.BFloat16Kernel.allCases)
    func float16WeightsAreRoundedToBFloat16(kernel: GEMM.BFloat16Kernel) {
        let shapes = [(1, 1, 1), (1, 5, 7), (3, 13, 31), (5, 50, 33), (16, 200, 768), (32, 7, 65), (33, 97, 41),
                      (70, 49, 301), (130, 150, 601), (2, 3000, 51), (300, 700, 96)]
        for (m, n, k) in shapes {
            for transposeB in [true, false] {
                let outcome = Self.run(m: m, n: n, k: k, transposeB: transposeB, kernel: kernel, beta: 0.5, format: .float16)
                let label = "\(kernel) float16 \(m)x\(n)x\(k) transposeB \(transposeB)"
                #expect(outcome.worstError < 1e-6, "\(label): error \(outcome.worstError)")
                #expect(outcome.paddingUntouched, "\(label): wrote past column n")
                if k >= 31 {
                    #expect(outcome.worstErrorAgainstUnroundedB > 1e-5, "\(label): B does not look rounded to bfloat16")
                }
            }
        }
    }

    /// Products large enough to be split between threads (by rows and by columns) stay within the bound.
    @Test(arguments: GEMM.BFloat16Kernel.allCases)
    func splitBetweenThreads(kernel: GEMM.BFloat16Kernel) {
        for (m, n, k) in [(2, 3000, 51), (300, 700, 96), (24, 1024, 255)] {
            let outcome = Self.run(m: m, n: n, k: k, transposeB: true, kernel: kernel)
            #expect(outcome.worstError < 1e-6, "\(kernel) \(m)x\(n)x\(k): \(outcome.worstError)")
        }
    }

    /// A few rows against a B of 18 MB (more than most CPUs' share of L3, where the row-dot-product kernel prefetches
    /// the next rows of B), with partial 4-row and 4-column tiles.
    @Test(arguments: GEMM.BFloat16Kernel.allCases)
    func fewRowsAgainstALargeWeight(kernel: GEMM.BFloat16Kernel) {
        let outcome = Self.run(m: 7, n: 8195, k: 1100, transposeB: true, kernel: kernel, beta: 0.5)
        #expect(outcome.worstError < 1e-6, "\(kernel) 7x8195x1100: \(outcome.worstError)")
        #expect(outcome.paddingUntouched)
    }

    /// ``HalfPrecisionMatrix/matmulTransposed(_:)`` follows the matrix's ``ComputePrecision``; float16
    /// matrices and the backward product (`matmul`) stay `Float`.
    @Test func matrixProductsFollowTheirComputePrecision() {
        var values = TestValues(seed: 5)
        let weight = values.tensor([37, 45]), x = values.tensor([3, 45]), y = values.tensor([3, 37])
        var bf16 = HalfPrecisionMatrix(rounding: weight, to: .bfloat16)
        let exact = bf16.matmulTransposed(x)
        bf16.computePrecision = .bfloat16
        let roundedX = Tensor(shape: x.shape, scalars: HalfPrecision.floats(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: x.scalars)))
        let expected = roundedX.matmul(bf16.floats(), transposeOther: true)
        let got = bf16.matmulTransposed(x)
        #expect(zip(got.scalars, expected.scalars).allSatisfy { abs($0 - $1) <= 1e-5 })
        #expect(zip(got.scalars, exact.scalars).contains { abs($0 - $1) > 1e-4 })
        #expect(bf16.rowBlock(0..<5).computePrecision == .bfloat16 && bf16.transposed().computePrecision == .bfloat16)
        #expect(bf16.matmul(y) == y.matmul(bf16.floats()))
        var fp16 = HalfPrecisionMatrix(rounding: weight, to: .float16)
        let fp16Exact = fp16.matmulTransposed(x)
        #expect(fp16Exact.maxAbsDifference(x.matmul(fp16.floats(), transposeOther: true)) <= 1e-5)
        fp16.computePrecision = .bfloat16
        let roundedFP16 = Tensor(shape: weight.shape,
                                 scalars: HalfPrecision.floats(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: fp16.floats().scalars)))
        let fp16Rounded = fp16.matmulTransposed(x)
        #expect(fp16Rounded.maxAbsDifference(roundedX.matmul(roundedFP16, transposeOther: true)) <= 1e-5)
        #expect(fp16Rounded.maxAbsDifference(fp16Exact) > 1e-4)
        #expect(fp16.matmul(y) == y.matmul(fp16.floats()))
    }
}
