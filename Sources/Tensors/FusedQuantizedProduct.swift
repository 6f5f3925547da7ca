import CKernels

/// Fused dequantize-and-dot products `x · Wᵀ` of few activation rows with a quantized weight matrix (MLX affine
/// and floating-point codes, GGUF Q4_0 ... Q6_K and the i-quants IQ1_S ... IQ4_XS), in the C kernel `ck_quant_dot`: four weight rows
/// at a time are decoded once into a buffer that stays in cache and multiplied with every activation row (AVX-512
/// or AVX2 chosen at run time from the CPU, or portable C; `INTERP_QUANT_PORTABLE=1` forces portable C), split over
/// ``Parallel`` by weight rows.
///
/// The decoded weights equal the Swift decoders' values bit for bit (the i-quants have only these decoders, checked
/// against gguf-py); the kernels differ only in summation order.
///
/// ```swift
/// let layout = FusedQuantizedProduct.Layout.gguf(typeID: 12)      // Q4_K
/// if rows <= FusedQuantizedProduct.maximumRows(depth: k) {
///     FusedQuantizedProduct.multiplyTransposed(x: x, rows: rows, weights: packed, rowBytes: bytesPerRow,
///                                              layout: layout, outputs: n, depth: k, into: y)
/// }
/// ```
public enum FusedQuantizedProduct {
    /// How the weight rows are packed.
    public enum Layout {
        /// MLX affine codes of `bits` bits, little-endian bit stream per row, `scale · q + bias` with one `Float`
        /// scale and bias per `groupSize` columns (`outputs · depth / groupSize` of each, row-major).
        case mlxAffine(bits: Int, groupSize: Int, scales: UnsafePointer<Float>, biases: UnsafePointer<Float>)
        /// MLX floating-point codes (`codes`: E2M1 for mxfp4 / nvfp4, E4M3 for mxfp8), `scale · value(q)` with one
        /// `Float` scale per `groupSize` columns.
        case mlxFloat(codes: FloatCodes, groupSize: Int, scales: UnsafePointer<Float>)
        /// A GGUF quantized type by its ggml id (`GGUFTensorType.rawValue`; Q4_0 ... Q6_K, IQ1_S ... IQ4_XS), each row
        /// whole blocks.
        case gguf(typeID: UInt32)
    }

    /// The small floating-point formats of MLX's microscaling codes.
    public enum FloatCodes: Sendable {
        /// FP4 E2M1, two codes per byte (the low nibble first): ±0, 0.5, 1, 1.5, 2, 3, 4, 6.
        case e2m1
        /// FP8 E4M3 (`float8_e4m3fn`), one code per byte.
        case e4m3

        /// The value of `code`.
        public func value(_ code: UInt8) -> Float {
            switch self {
            case .e2m1: ck_fp4_e2m1_value(code)
            case .e4m3: ck_fp8_e4m3_value(code)
            }
        }

        /// Bits per code.
        public var bits: Int { self == .e2m1 ? 4 : 8 }

        /// The value of an E8M0 scale (the mx modes' shared scale): `2^(code − 127)`, NaN for 255.
        public static func e8m0Value(_ code: UInt8) -> Float {
            code == 255 ? .nan : Float(sign: .plus, exponent: Int(code) - 127, significand: 1)
        }
    }

    /// The ggml type ids the fused kernel reads.
    public static let ggufTypeIDs: Set<UInt32> = [2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 29]

    /// The most activation rows for which the fused product is used at depth `depth` (from this CPU's L2 size:
    /// the rows must stay in half of it while every tile of weight rows passes; at least 4, at most
    /// ``GEMM/rowDotMaxRows``, where the Float32 product of a transposed weight also stops taking dot products).
    public static func maximumRows(depth: Int) -> Int { ck_quant_dot_max_rows(depth) }

    /// The kernel `path` runs as for fused products here (`INTERP_QUANT_PORTABLE` included).
    public static func resolvedPath(_ path: GEMM.Path = .automatic) -> GEMM.Path {
        let name = String(cString: ck_gemm_path_name(ck_quant_dot_resolve_path(path.cValue)))
        return GEMM.Path(rawValue: name) ?? .portable
    }

    /// `y[i, r] = Σ_c x[i, c] · W[r, c]` for `rows` activation rows `x` (`rows x depth`, row-major) and the
    /// `outputs x depth` quantized matrix whose row `r` starts at `weights + r · rowBytes`; `y` is `rows x outputs`.
    public static func multiplyTransposed(
        x: UnsafePointer<Float>, rows: Int, weights: UnsafeRawPointer, rowBytes: Int, layout: Layout,
        outputs: Int, depth: Int, into y: UnsafeMutablePointer<Float>, path: GEMM.Path = .automatic
    ) {
        guard rows > 0 && outputs > 0 else { return }
        var matrix = cMatrix(weights: weights, rowBytes: rowBytes, layout: layout, outputs: outputs, depth: depth)
        let tiles = (outputs + 3) / 4
        let parts = rows * outputs * depth < GEMM.parallelThreshold ? 1 : Swift.min(tiles, Parallel.threadCount * 4)
        withUnsafePointer(to: &matrix) { matrix in
            Parallel.forEach(parts) { part in
                let begin = tiles * part / parts * 4, end = Swift.min(tiles * (part + 1) / parts * 4, outputs)
                ck_quant_dot(matrix, x, rows, depth, y, outputs, begin, end, path.cValue)
            }
        }
    }

    /// Rows `rowRange` of the quantized matrix dequantized into `out` (`rowRange.count x depth`), with the
    /// vectorized decoders of the fused kernel.
    public static func dequantize(
        weights: UnsafeRawPointer, rowBytes: Int, layout: Layout, outputs: Int, depth: Int, rowRange: Range<Int>,
        into out: UnsafeMutablePointer<Float>
    ) {
        var matrix = cMatrix(weights: weights, rowBytes: rowBytes, layout: layout, outputs: outputs, depth: depth)
        ck_quant_dequantize_rows(&matrix, rowRange.lowerBound, rowRange.upperBound, out)
    }

    private static func cMatrix(weights: UnsafeRawPointer, rowBytes: Int, layout: Layout, outputs: Int, depth: Int)
        -> ck_quant_matrix {
        var matrix = ck_quant_matrix()
        matrix.rows = outputs
        matrix.columns = depth
        matrix.packed = weights.assumingMemoryBound(to: UInt8.self)
        matrix.row_bytes = rowBytes
        switch layout {
        case .mlxAffine(let bits, let groupSize, let scales, let biases):
            matrix.format = CK_QUANT_MLX_AFFINE
            matrix.bits = Int32(bits)
            matrix.group_size = groupSize
            matrix.scales = scales
            matrix.biases = biases
        case .mlxFloat(let codes, let groupSize, let scales):
            matrix.format = codes == .e2m1 ? CK_QUANT_MLX_E2M1 : CK_QUANT_MLX_E4M3
            matrix.bits = Int32(codes.bits)
            matrix.group_size = groupSize
            matrix.scales = scales
        case .gguf(let typeID):
            precondition(ggufTypeIDs.contains(typeID), "GGUF type id \(typeID) has no fused kernel")
            matrix.format = ck_quant_format(rawValue: typeID)
        }
        return matrix
    }
}
