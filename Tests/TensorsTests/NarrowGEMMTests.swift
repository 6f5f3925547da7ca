import CKernels
import Testing
import Tensors

/// Narrow Float32 products (few columns, as attention's score blocks and value products) on the SIMD kernels, which
/// may use a narrower tile for them: every element of C must be exactly the chain of fused multiply-adds over k
/// ascending (one depth block, alpha 1, beta 0), computed here by `Float.addingProduct`, whether C is one part or
/// split in two (as two threads run it), and also for 32-row blocks of a taller product (as fused attention runs it).
/// Products of more than 64 rows, so that no kernel for few rows (a different summation order) takes them.
@Suite struct NarrowGEMMTests {
    /// (m, n, k)
    static let shapes = [(70, 1, 64), (96, 17, 64), (128, 32, 64), (65, 50, 97), (128, 64, 64), (100, 100, 80),
                         (128, 128, 128), (77, 160, 33)]

    static let simdPath = ck_gemm_resolve_path(CK_GEMM_PATH_AUTOMATIC) != CK_GEMM_PATH_PORTABLE

    /// C of `m` x `n` from A (`m` x `k`) and B (`k` x `n`, or `n` x `k` when `transposeB`): the rows
    /// [first, first + rows) of C, computed by `parts` parts of that row block, the other rows NaN.
    static func product(m: Int, n: Int, k: Int, a: [Float], b: [Float], transposeB: Bool, rows: Range<Int>,
                        parts: Int) -> [Float] {
        var c = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    var whole = ck_sgemm_args(
                        transpose_a: 0, transpose_b: transposeB ? 1 : 0, m: m, n: n, k: k, alpha: 1,
                        a: a.baseAddress, lda: k, b: b.baseAddress, ldb: transposeB ? k : n, beta: 0,
                        c: c.baseAddress, ldc: n, path: CK_GEMM_PATH_AUTOMATIC, b_type: CK_ELEMENT_F32, b16: nil,
                        compute: CK_COMPUTE_F32, bias: nil)
                    if rows == 0..<m {
                        for part in 0..<parts { ck_sgemm_part(&whole, part, parts) }
                    } else {
                        let split = (rows.lowerBound + rows.upperBound) / 2
                        let bounds = parts == 1 ? [rows.lowerBound, rows.upperBound]
                                                : [rows.lowerBound, split, rows.upperBound]
                        for part in 0..<parts {
                            ck_sgemm_block(&whole, bounds[part], bounds[part + 1], 0, n)
                        }
                    }
                }
            }
        }
        return c
    }

    @Test(.enabled(if: simdPath), arguments: [false, true])
    func narrowProductsAreTheFusedMultiplyAddChain(transposeB: Bool) {
        for (m, n, k) in Self.shapes {
            var values = TestValues(seed: UInt64(m * 7919 + n * 31 + k))
            let a = values.array(m * k), b = values.array(n * k)
            for rows in [0..<m, 32..<min(64, m)] {
                var expected = [Float](repeating: .nan, count: m * n)
                for i in rows {
                    for j in 0..<n {
                        var sum: Float = 0
                        for l in 0..<k { sum = sum.addingProduct(a[i * k + l], transposeB ? b[j * k + l] : b[l * n + j]) }
                        expected[i * n + j] = sum
                    }
                }
                for parts in 1...2 {
                    let c = Self.product(m: m, n: n, k: k, a: a, b: b, transposeB: transposeB, rows: rows, parts: parts)
                    let differing = zip(c, expected).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(differing == 0, "\(m)x\(n)x\(k) transposeB \(transposeB) rows \(rows) \(parts) parts: \(differing) differ")
                }
            }
        }
    }
}
