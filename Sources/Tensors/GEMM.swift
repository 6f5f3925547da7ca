import CKernels

/// Single-precision matrix multiplication on raw row-major buffers: `C = alpha·op(A)·op(B) + beta·C`.
///
/// Backed by the blocked, packed SIMD kernel in CKernels, chosen at run time from the CPU's features
/// (AVX-512, AVX2+FMA, or portable C) and split over ``Parallel``. Every element of C is computed by the
/// same sequence of operations however the work is split, so results are bit-identical run to run and
/// for any thread count (on a given ``Path``).
///
/// ```swift
/// GEMM.multiply(m: 2, n: 3, k: 4, a: a, lda: 4, b: b, ldb: 3, c: c, ldc: 3)
/// ```
public enum GEMM {
    /// A micro-kernel family.
    public enum Path: String, CaseIterable, Sendable {
        /// The fastest path the CPU supports.
        case automatic
        /// Plain C, vectorized by the compiler for the baseline instruction set.
        case portable
        /// x86-64 AVX2 + FMA.
        case avx2
        /// x86-64 AVX-512F.
        case avx512

        var cValue: ck_gemm_path {
            switch self {
            case .automatic: CK_GEMM_PATH_AUTOMATIC
            case .portable: CK_GEMM_PATH_PORTABLE
            case .avx2: CK_GEMM_PATH_AVX2
            case .avx512: CK_GEMM_PATH_AVX512
            }
        }

        /// Whether this CPU can run the path.
        public var isSupported: Bool { ck_gemm_path_supported(cValue) != 0 }

        /// The cache block sizes this path uses on this CPU (MC fitted to its L2 cache): rows of A
        /// (MC), depth (KC) and columns of B (NC) per packed block.
        public var blocking: (rows: Int, depth: Int, columns: Int) {
            var mc = 0, kc = 0, nc = 0
            ck_gemm_blocking(cValue, &mc, &kc, &nc)
            return (mc, kc, nc)
        }

        /// The concrete path this one runs as on this CPU (`.automatic` becomes the fastest one).
        public var resolved: Path {
            let name = String(cString: ck_gemm_path_name(ck_gemm_resolve_path(cValue)))
            return Path(rawValue: name) ?? .portable
        }
    }

    /// Whether Float32 products of `rows` and `otherRows` rows of A (same B, same path) give every row the same
    /// bits: the kernel depends on the row count only through the row-dot-product kernel of products with few rows
    /// and B stored transposed (`ck_sgemm_row_dot_max_rows`), so this holds when both counts are on the same side
    /// of its bound. Lets a caller leave out rows it does not read without changing the others.
    public static func sameResults(rows: Int, otherRows: Int) -> Bool {
        (rows <= rowDotMaxRows) == (otherRows <= rowDotMaxRows)
    }

    /// The most rows of A a Float32 product with B stored transposed may have to take the row-dot-product kernel.
    public static var rowDotMaxRows: Int { ck_sgemm_row_dot_max_rows() }

    /// Products smaller than this many multiply-adds run on the calling thread: waking the pool costs more.
    static let parallelThreshold = 1 << 18

    /// `C[m x n] = alpha·op(A)·op(B) + beta·C`. `op(A)` is `m x k` (A is stored `k x m` when `transposeA`),
    /// `op(B)` is `k x n` (B is stored `n x k` when `transposeB`); `lda`, `ldb`, `ldc` are row strides in
    /// elements. When `beta` is 0, C is only written.
    ///
    /// With `bias` (`n` values), `bias[j]` is added to every element of column j as the kernel stores the finished
    /// value: the same bits as adding it in a separate pass afterwards, without that pass over C.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0, bias: UnsafePointer<Float>? = nil, path: Path = .automatic
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM dimensions must be non-negative: \(m) x \(n) x \(k)")
        precondition(lda >= (transposeA ? m : k) && ldb >= (transposeB ? k : n) && ldc >= n,
                     "GEMM leading dimension too small: lda \(lda), ldb \(ldb), ldc \(ldc) for \(m) x \(n) x \(k)")
        var problem = ck_sgemm_args(
            transpose_a: transposeA ? 1 : 0, transpose_b: transposeB ? 1 : 0, m: m, n: n, k: k,
            alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, path: path.cValue)
        problem.bias = bias
        run([problem])
    }

    /// The kernels of ``ComputePrecision/bfloat16`` products.
    public enum BFloat16Kernel: String, CaseIterable, Sendable {
        /// AVX512-BF16 dot products when ``bfloat16DotProductsAvailable`` (and `path` resolves to AVX-512),
        /// the widened kernels otherwise.
        case automatic
        /// Always the portable fallback: A rounded to bfloat16, then the `Float` kernels with B widened.
        case widened
    }

    /// Whether ``BFloat16Kernel/automatic`` runs AVX512-BF16 `vdpbf16ps` here: the CPU has AVX512-BF16 and
    /// AVX512-BW, the OS saves zmm state, and the environment variable `INTERP_BF16_WIDENED` is unset or `0`
    /// (set it to force the fallback in a whole process, for example to compare speeds).
    public static var bfloat16DotProductsAvailable: Bool { ck_bf16_dot_available() != 0 }

    /// The cache block sizes of the AVX512-BF16 blocked kernel on this CPU (from its L1d, L2 and L3 sizes): rows
    /// of A (MC), depth (KC) and columns of B (NC) per packed block.
    public static var bfloat16Blocking: (rows: Int, depth: Int, columns: Int) {
        var mc = 0, kc = 0, nc = 0
        ck_bf16_blocking(&mc, &kc, &nc)
        return (mc, kc, nc)
    }

    /// `C[m x n] = alpha·op(A)·op(B) + beta·C` with B in a 16-bit format (`bits`, `format`), widened to Float
    /// exactly inside the kernel: the result equals the product with B converted to Float beforehand.
    ///
    /// With `compute` ``ComputePrecision/bfloat16``, op(A) is rounded to bfloat16 as it is packed (float16 B as
    /// well, as it is read) and the products of pairs are accumulated in `Float` (`bfloat16Kernel` picks the
    /// kernel): the `Float` product of the rounded A and B up to summation order. `bias` is added as by
    /// ``multiply(m:n:k:a:lda:transposeA:b:ldb:transposeB:c:ldc:alpha:beta:bias:path:)``.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b bits: UnsafePointer<UInt16>, format: HalfPrecision.Format, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0, bias: UnsafePointer<Float>? = nil, path: Path = .automatic,
        compute: ComputePrecision = .float32, bfloat16Kernel: BFloat16Kernel = .automatic
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM dimensions must be non-negative: \(m) x \(n) x \(k)")
        precondition(lda >= (transposeA ? m : k) && ldb >= (transposeB ? k : n) && ldc >= n,
                     "GEMM leading dimension too small: lda \(lda), ldb \(ldb), ldc \(ldc) for \(m) x \(n) x \(k)")
        var problem = ck_sgemm_args(
            transpose_a: transposeA ? 1 : 0, transpose_b: transposeB ? 1 : 0, m: m, n: n, k: k,
            alpha: alpha, a: a, lda: lda, b: nil, ldb: ldb, beta: beta, c: c, ldc: ldc, path: path.cValue)
        problem.b_type = format.elementType
        problem.b16 = bits
        problem.compute = compute == .bfloat16 && bfloat16Kernel == .widened ? CK_COMPUTE_BF16_WIDENED : compute.cValue
        problem.bias = bias
        run([problem])
    }

    /// Runs independent products (for example the matrices of a batch), splitting each one into parts
    /// when there are fewer products than threads.
    static func run(_ problems: [ck_sgemm_args]) {
        guard let first = problems.first else { return }
        let work = first.m * first.n * first.k
        let threads = Parallel.threadCount
        let partsPerProblem = work < parallelThreshold || problems.count >= threads
            ? 1 : (threads + problems.count - 1) / problems.count
        problems.withUnsafeBufferPointer { problems in
            if work * problems.count < parallelThreshold {
                for index in problems.indices { ck_sgemm(problems.baseAddress! + index) }
                return
            }
            Parallel.forEach(problems.count * partsPerProblem) { item in
                let problem = problems.baseAddress! + item / partsPerProblem
                ck_sgemm_part(problem, item % partsPerProblem, partsPerProblem)
            }
        }
    }
}

extension ck_sgemm_args {
    /// A problem whose B is Float32 (`b_type` `CK_ELEMENT_F32`), without a bias.
    init(transpose_a: Int32, transpose_b: Int32, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>?, lda: Int,
         b: UnsafePointer<Float>?, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>?, ldc: Int, path: ck_gemm_path) {
        self.init(transpose_a: transpose_a, transpose_b: transpose_b, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, path: path, b_type: CK_ELEMENT_F32, b16: nil,
                  compute: CK_COMPUTE_F32, bias: nil)
    }
}
