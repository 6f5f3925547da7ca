import Testing
import Tensors

/// GEMM with a bfloat16 or float16 B (widened inside the kernel) against a double-precision triple loop over
/// the widened values, and against the Float32 kernel on the widened matrix: equal bit for bit, since
/// widening is exact and the arithmetic is the same.
@Suite struct HalfPrecisionGEMMTests {
    static let supportedPaths = GEMM.Path.allCases.filter(\.isSupported)

    struct Outcome {
        var worstError = 0.0
        var identicalToFloat = true
    }

    /// Runs `m x n x k` with B in `format` (padded leading dimensions) on `path`.
    static func run(m: Int, n: Int, k: Int, transposeB: Bool, format: HalfPrecision.Format, path: GEMM.Path,
                    beta: Float = 0) -> Outcome {
        var values = TestValues(seed: UInt64(m * 10_000 + n * 100 + k) + (transposeB ? 7 : 0))
        let lda = k + 3, bRows = transposeB ? n : k, bColumns = transposeB ? k : n, ldb = bColumns + 1, ldc = n + 2
        let a = values.array(m * lda)
        let bits = HalfPrecision.bits(from: values.array(bRows * ldb), format: format)
        let widened = format == .bfloat16 ? HalfPrecision.floats(fromBFloat16Bits: bits) : HalfPrecision.floats(fromFloat16Bits: bits)
        let original = values.array(m * ldc)
        var half = original, float = original
        half.withUnsafeMutableBufferPointer { c in
            GEMM.multiply(m: m, n: n, k: k, a: a, lda: lda, b: bits, format: format, ldb: ldb, transposeB: transposeB,
                          c: c.baseAddress!, ldc: ldc, beta: beta, path: path)
        }
        float.withUnsafeMutableBufferPointer { c in
            GEMM.multiply(m: m, n: n, k: k, a: a, lda: lda, b: widened, ldb: ldb, transposeB: transposeB,
                          c: c.baseAddress!, ldc: ldc, beta: beta, path: path)
        }
        var outcome = Outcome(identicalToFloat: half == float)
        for i in 0..<m {
            for j in 0..<ldc {
                let got = Double(half[i * ldc + j])
                guard j < n else {
                    if got != Double(original[i * ldc + j]) { outcome.worstError = .infinity }  // padding untouched
                    continue
                }
                var sum = 0.0
                for l in 0..<k { sum += Double(a[i * lda + l]) * Double(transposeB ? widened[j * ldb + l] : widened[l * ldb + j]) }
                let expected = sum + Double(beta) * Double(original[i * ldc + j])
                outcome.worstError = max(outcome.worstError, abs(got - expected) / Double(k + 1))
            }
        }
        return outcome
    }

    /// Few rows (B read in place by the dot-product kernel) and many rows (B widened while packed), depths
    /// with and without a remainder of 16, column counts that leave partial panels.
    @Test(arguments: supportedPaths)
    func matchesTheWidenedFloatProduct(path: GEMM.Path) {
        let shapes = [(1, 1, 1), (3, 13, 5), (16, 200, 768), (7, 50, 33), (65, 97, 40), (130, 49, 401), (200, 160, 16)]
        for format in HalfPrecision.Format.allCases {
            for (m, n, k) in shapes {
                for transposeB in [true, false] {
                    for beta: Float in [0, 0.5] {
                        let outcome = Self.run(m: m, n: n, k: k, transposeB: transposeB, format: format, path: path, beta: beta)
                        let label = "\(path) \(format) \(m)x\(n)x\(k) transposeB \(transposeB) beta \(beta)"
                        #expect(outcome.worstError < 1e-6, "\(label): error \(outcome.worstError)")
                        #expect(outcome.identicalToFloat, "\(label): differs from the Float32 kernel on the widened B")
                    }
                }
            }
        }
    }

    /// Products split between threads (column and row parts) give the same bits as on one thread.
    @Test func splitBetweenThreadsMatches() {
        for (m, n, k) in [(2, 3000, 50), (300, 700, 96), (64, 1024, 256)] {
            let outcome = Self.run(m: m, n: n, k: k, transposeB: true, format: .bfloat16, path: .automatic)
            #expect(outcome.worstError < 1e-6 && outcome.identicalToFloat, "\(m)x\(n)x\(k): \(outcome.worstError)")
        }
    }
}

/// ``HalfPrecisionMatrix`` operations against the same operations on its widened `Float` tensor.
@Suite struct HalfPrecisionMatrixTests {
    static func matrix(_ format: HalfPrecision.Format, rows: Int = 37, columns: Int = 45) -> (HalfPrecisionMatrix, Tensor) {
        var values = TestValues(seed: 11)
        let matrix = HalfPrecisionMatrix(rounding: values.tensor([rows, columns]), to: format)
        return (matrix, matrix.floats())
    }

    @Test(arguments: HalfPrecision.Format.allCases)
    func roundsAndWidensElementwise(format: HalfPrecision.Format) {
        var values = TestValues(seed: 3)
        let tensor = values.tensor([5, 6])
        let matrix = HalfPrecisionMatrix(rounding: tensor, to: format)
        let expected = format == .bfloat16
            ? HalfPrecision.floats(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: tensor.scalars))
            : HalfPrecision.floats(fromFloat16Bits: HalfPrecision.float16Bits(from: tensor.scalars))
        #expect(matrix.floats().scalars == expected)
        #expect(matrix.shape == [5, 6])
        for (a, b) in zip(matrix.floats().scalars, tensor.scalars) { #expect(abs(a - b) <= abs(b) * (format == .bfloat16 ? 0x1p-8 : 0x1p-11)) }
    }

    @Test(arguments: HalfPrecision.Format.allCases)
    func productsEqualTheFloatProducts(format: HalfPrecision.Format) {
        let (matrix, floats) = Self.matrix(format)
        var values = TestValues(seed: 5)
        for rows in [1, 9, 80] {
            let x = values.tensor([2, rows, 45])
            #expect(matrix.matmulTransposed(x) == x.matmul(floats, transposeOther: true))
            let y = values.tensor([rows, 37])
            #expect(matrix.matmul(y) == y.matmul(floats))
        }
    }

    /// A `y` with nonzeros in few columns reads only those rows of W; the product is the full one (up to the
    /// order of additions).
    @Test func sparseProductEqualsTheFullOne() {
        let (matrix, floats) = Self.matrix(.bfloat16, rows: 200, columns: 24)
        var y = Tensor.zeros([3, 200])
        for (row, column, value) in [(0, 5, Float(1.5)), (1, 5, -2), (2, 170, 0.25), (0, 99, 3)] {
            y = y + Tensor.oneHot(row: row, column: column, value: value, shape: [3, 200])
        }
        let (ours, theirs) = (matrix.matmul(y), y.matmul(floats))
        #expect(ours.shape == [3, 24])
        #expect(zip(ours.scalars, theirs.scalars).allSatisfy { abs($0 - $1) <= 1e-6 * (1 + abs($1)) })
    }

    @Test func lookupsReadTheStoredValues() {
        let (matrix, floats) = Self.matrix(.bfloat16)
        #expect(matrix.rows([4, 0, 36, 4]) == floats.indexSelect(axis: 0, [4, 0, 36, 4]))
        #expect(matrix.columns(7..<19) == floats.slice(axis: 1, 7..<19))
        #expect(matrix.rowBlock(10..<20).floats() == floats.slice(axis: 0, 10..<20))
        #expect(matrix.transposed().floats() == floats.transposed())
        #expect(matrix.sharesStorage(with: matrix) && !matrix.sharesStorage(with: matrix.rowBlock(0..<20)))
        #expect(!matrix.sharesStorage(with: HalfPrecisionMatrix(rounding: floats, to: .bfloat16)))
    }

    /// The input gradient of `x · Wᵀ` is `g · W` and that of `y · W` is `g · Wᵀ`, as for the Float weight.
    @Test func gradientsFlowToTheInput() {
        let (matrix, floats) = Self.matrix(.float16)
        var values = TestValues(seed: 9)
        let x = values.tensor([3, 45]), g = values.tensor([3, 37])
        let (ours, theirs) = withGradients { tape -> (Tensor, Tensor) in
            let watched = tape.watch(x)
            let half = tape.gradient(of: (matrix.matmulTransposed(watched) * g).sum(), withRespectTo: watched)
            let float = tape.gradient(of: (watched.matmul(floats, transposeOther: true) * g).sum(), withRespectTo: watched)
            return (half, float)
        }
        #expect(ours == theirs)
    }
}

extension Tensor {
    /// Zeros of `shape` (rank 2) with `value` at `(row, column)`.
    static func oneHot(row: Int, column: Int, value: Float, shape: [Int]) -> Tensor {
        var scalars = [Float](repeating: 0, count: shape[0] * shape[1])
        scalars[row * shape[1] + column] = value
        return Tensor(shape: shape, scalars: scalars)
    }
}
