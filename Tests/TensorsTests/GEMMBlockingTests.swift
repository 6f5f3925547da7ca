import CKernels
import Testing
import Tensors

/// The blocked GEMM drivers at the shapes where their blocking differs (rows that fit one block of A, with B packed
/// in L2-sized column blocks; several evenly split row blocks; depths past one depth block; partial tiles), for
/// Float32 B and for bfloat16 B with bfloat16 compute (both kernels). Every static split of C into 1 to 4 parts
/// (as the thread pool runs them) gives C bit for bit equal to the whole product on one thread, and that product
/// is within the existing bounds of a Double reference: the GEMM tests' 1e-6·(k + 1) for Float32 (values in
/// [-1, 1)), and 1e-6 of Σ|a·b| over the rounded A for bfloat16 compute.
@Suite struct GEMMBlockingTests {
    enum Arithmetic: CaseIterable { case float32, bfloat16, bfloat16Widened }

    /// (m, n, k)
    /// The last three have more rows than columns, so parts split the rows, into parts as few as the kernels
    /// for few rows take (32 or fewer): every part must still run the whole product's kernel.
    static let shapes = [(70, 700, 900), (100, 333, 1000), (150, 768, 768), (300, 500, 801), (700, 100, 2000),
                         (1024, 192, 576), (40, 16, 300), (33, 8, 97), (64, 24, 100)]

    struct Operands {
        let m: Int, n: Int, k: Int, transposeB: Bool, arithmetic: Arithmetic
        let a: [Float], b: [Float], bits: [UInt16]
        var ldb: Int { transposeB ? k : n }

        init(m: Int, n: Int, k: Int, transposeB: Bool, arithmetic: Arithmetic) {
            (self.m, self.n, self.k, self.transposeB, self.arithmetic) = (m, n, k, transposeB, arithmetic)
            var values = TestValues(seed: UInt64(m * 7919 + n * 31 + k))
            a = values.array(m * k)
            let raw = values.array(n * k)
            bits = HalfPrecision.bits(from: raw, format: .bfloat16)
            b = arithmetic == .float32 ? raw : HalfPrecision.floats(fromBFloat16Bits: bits)
        }

        /// C = alpha·A·op(B) + beta·`initial` (+ `bias` in every row) computed as `parts` parts, one after the other
        /// (each as one thread of the pool computes it); C starts as NaN without `initial`.
        func product(parts: Int, alpha: Float = 1, beta: Float = 0, initial: [Float]? = nil, bias: [Float]? = nil) -> [Float] {
            var c = initial ?? [Float](repeating: .nan, count: m * n)
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    bits.withUnsafeBufferPointer { bits in
                        (bias ?? []).withUnsafeBufferPointer { biasValues in
                            c.withUnsafeMutableBufferPointer { c in
                                var args = ck_sgemm_args(
                                    transpose_a: 0, transpose_b: transposeB ? 1 : 0, m: m, n: n, k: k, alpha: alpha,
                                    a: a.baseAddress, lda: k, b: b.baseAddress, ldb: ldb, beta: beta, c: c.baseAddress,
                                    ldc: n, path: CK_GEMM_PATH_AUTOMATIC, b_type: CK_ELEMENT_F32, b16: nil,
                                    compute: CK_COMPUTE_F32, bias: bias == nil ? nil : biasValues.baseAddress)
                                if arithmetic != .float32 {
                                    args.b_type = CK_ELEMENT_BF16
                                    args.b16 = bits.baseAddress
                                    args.compute = arithmetic == .bfloat16 ? CK_COMPUTE_BF16 : CK_COMPUTE_BF16_WIDENED
                                }
                                for part in 0..<parts { ck_sgemm_part(&args, part, parts) }
                            }
                        }
                    }
                }
            }
            return c
        }

        /// The largest error of `c` against the Double reference, scaled as the suite comment says.
        func worstError(_ c: [Float]) -> Double {
            let roundedA = arithmetic == .float32 ? a : HalfPrecision.floats(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: a))
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var (sum, magnitude) = (0.0, 0.0)
                    for l in 0..<k {
                        let term = Double(roundedA[i * k + l]) * Double(transposeB ? b[j * k + l] : b[l * n + j])
                        sum += term
                        magnitude += abs(term)
                    }
                    let scale = arithmetic == .float32 ? Double(k + 1) : max(magnitude, .leastNormalMagnitude)
                    worst = max(worst, abs(Double(c[i * n + j]) - sum) / scale)
                }
            }
            return worst
        }
    }

    @Test(arguments: Arithmetic.allCases)
    func everySplitEqualsTheWholeProduct(arithmetic: Arithmetic) {
        for (m, n, k) in Self.shapes {
            for transposeB in arithmetic == .float32 ? [true, false] : [true] {
                let operands = Operands(m: m, n: n, k: k, transposeB: transposeB, arithmetic: arithmetic)
                let whole = operands.product(parts: 1)
                let label = "\(arithmetic) \(m)x\(n)x\(k) transposeB \(transposeB)"
                let error = operands.worstError(whole)
                #expect(error < 1e-6, "\(label): error \(error)")
                for parts in 2...4 {
                    let split = operands.product(parts: parts)
                    let differing = zip(split, whole).filter { $0 != $1 }.count
                    #expect(differing == 0, "\(label): \(parts) parts differ from one in \(differing) elements")
                }
            }
        }
    }
}
