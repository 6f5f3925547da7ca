import Testing
import Tensors
import LanguageModels

/// The fused dequantize-and-dot kernel against dequantizing with the Swift decoders (checked against gguf-py and
/// numpy by GGUFTests / QuantizationTests) followed by a double-precision product, on every kernel path.
@Suite struct FusedQuantizedProductTests {
    /// Activation row counts: one, a remainder of every register tile, a full tile plus one, the maximum.
    static let activationRows = [1, 3, 17, 32]

    /// The kernel paths of this CPU (the portable one always).
    static var paths: [GEMM.Path] { [.portable, .avx2, .avx512].filter(\.isSupported) }

    /// `[rows, columns]` random values in [-1, 1).
    static func activations(rows: Int, columns: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<(rows * columns)).map { _ in Float.random(in: -1..<1, using: &generator) }
    }

    /// Random bytes for `rowCount` rows of whole blocks of `type`, with every fp16 scale field set to a finite
    /// value in [0.001, 0.05) (random bits could spell infinities or NaNs; IQ1_M spreads its scale over the top
    /// nibbles of its last four uint16s).
    static func ggufMatrix(_ type: GGUFTensorType, rowCount: Int, blocks: Int, seed: UInt64) -> GGUFMatrix {
        var generator = SeededGenerator(seed: seed)
        var bytes = (0..<(rowCount * blocks * type.bytesPerBlock)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let halfOffsets: [Int] = switch type {
        case .q4_0, .q5_0, .q8_0: [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
        case .q2_K: [80, 82]
        case .q3_K: [108]
        case .q6_K: [208]
        case .iq4_NL, .iq4_XS, .iq3_S, .iq3_XXS, .iq2_S, .iq2_XS, .iq2_XXS, .iq1_S: [0]
        default: []
        }
        for block in 0..<(rowCount * blocks) {
            let start = block * type.bytesPerBlock
            for offset in halfOffsets {
                let bits = Float16(Float.random(in: 0.001..<0.05, using: &generator)).bitPattern
                bytes[start + offset] = UInt8(bits & 0xFF)
                bytes[start + offset + 1] = UInt8(bits >> 8)
            }
            if type == .iq1_M {
                let bits = Float16(Float.random(in: 0.001..<0.05, using: &generator)).bitPattern
                for k in 0..<4 {
                    bytes[start + 49 + 2 * k] = bytes[start + 49 + 2 * k] & 0x0F | UInt8((bits >> UInt16(4 * k)) & 0xF) << 4
                }
            }
        }
        return GGUFMatrix(rowCount: rowCount, columnCount: blocks * type.blockSize, type: type, packed: bytes)
    }

    static func mlxMatrix(bits: Int, groupSize: Int, rowCount: Int, columnCount: Int, seed: UInt64) -> QuantizedMatrix {
        var generator = SeededGenerator(seed: seed)
        let groups = rowCount * columnCount / groupSize
        return QuantizedMatrix(
            rowCount: rowCount, columnCount: columnCount, bits: bits, groupSize: groupSize,
            packed: (0..<(rowCount * columnCount * bits / 32)).map { _ in UInt32.random(in: 0...UInt32.max, using: &generator) },
            scales: (0..<groups).map { _ in Float.random(in: 0.001..<0.05, using: &generator) },
            biases: (0..<groups).map { _ in Float.random(in: -0.2..<0.2, using: &generator) })
    }

    /// Checks `x · Wᵀ` of the fused kernel on every path and activation row count against the double-precision
    /// product of the Swift-dequantized matrix: |fused − exact| ≤ 1e-5 · Σ|x·w| per element. Also checks that
    /// the C decoders give the Swift decoders' values bit for bit.
    static func checkFusedProducts(of matrix: some RowDequantizedMatrix, name: String) {
        let dense = matrix.dequantized().scalars
        let outputs = matrix.rowCount, depth = matrix.columnCount
        let decoded = [Float](unsafeUninitializedCapacity: outputs * depth) { out, initialized in
            _ = matrix.withFusedLayout { weights, rowBytes, layout in
                FusedQuantizedProduct.dequantize(weights: weights, rowBytes: rowBytes, layout: layout, outputs: outputs,
                                                 depth: depth, rowRange: 0..<outputs, into: out.baseAddress!)
            }
            initialized = outputs * depth
        }
        #expect(decoded.map(\.bitPattern) == dense.map(\.bitPattern), "\(name): C decoders")
        for rows in activationRows {
            let x = activations(rows: rows, columns: depth, seed: UInt64(rows * 7919 + depth))
            for path in paths {
                var fused = [Float](repeating: .nan, count: rows * outputs)
                let called: Void? = matrix.withFusedLayout { weights, rowBytes, layout in
                    x.withUnsafeBufferPointer { x in
                        fused.withUnsafeMutableBufferPointer { y in
                            FusedQuantizedProduct.multiplyTransposed(
                                x: x.baseAddress!, rows: rows, weights: weights, rowBytes: rowBytes, layout: layout,
                                outputs: outputs, depth: depth, into: y.baseAddress!, path: path)
                        }
                    }
                }
                #expect(called != nil, "\(name) has no fused layout")
                var worst = 0.0
                for i in 0..<rows {
                    for r in 0..<outputs {
                        var exact = 0.0, magnitude = 0.0
                        for c in 0..<depth {
                            let term = Double(x[i * depth + c]) * Double(dense[r * depth + c])
                            exact += term
                            magnitude += abs(term)
                        }
                        worst = max(worst, abs(Double(fused[i * outputs + r]) - exact) / max(magnitude, .leastNormalMagnitude))
                    }
                }
                #expect(worst <= 1e-5, "\(name), \(rows) rows, \(path): relative error \(worst)")
            }
        }
    }

    @Test(arguments: [GGUFTensorType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0])
    func smallBlockTypesMatchTheDequantizedProduct(type: GGUFTensorType) {
        // 7 output rows (a partial tile of 4), 3 blocks of 32 columns.
        Self.checkFusedProducts(of: Self.ggufMatrix(type, rowCount: 7, blocks: 3, seed: UInt64(type.rawValue)), name: type.name)
    }

    @Test(arguments: [GGUFTensorType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K])
    func kQuantsMatchTheDequantizedProduct(type: GGUFTensorType) {
        // 5 output rows, 2 super-blocks of 256 columns.
        Self.checkFusedProducts(of: Self.ggufMatrix(type, rowCount: 5, blocks: 2, seed: UInt64(type.rawValue)), name: type.name)
    }

    @Test(arguments: [GGUFTensorType.iq4_NL, .iq4_XS, .iq3_S, .iq3_XXS, .iq2_S, .iq2_XS, .iq2_XXS, .iq1_S, .iq1_M])
    func iQuantsMatchTheDequantizedProduct(type: GGUFTensorType) {
        // 5 output rows (a partial tile), 512 columns (2 blocks of 256, 16 of 32 for IQ4_NL). The i-quants have only
        // the C decoders (checked against gguf-py by GGUFTests), so this checks the products.
        let blocks = 512 / type.blockSize
        Self.checkFusedProducts(of: Self.ggufMatrix(type, rowCount: 5, blocks: blocks, seed: UInt64(type.rawValue)), name: type.name)
    }

    /// One-hot activation rows pick single weights out of the product (every other term is ±0), so each kernel
    /// path's decoders are checked against gguf-py's values exactly (up to the sign of zero).
    @Test(arguments: GGUFTests.iQuantNames)
    func oneHotRowsReadGGUFPyValuesOnEveryPath(type: String) throws {
        let matrix = try GGUFTests.file("iquants.gguf").matrix(named: type)
        let expected = try SafetensorsFile(contentsOf: GGUFTests.directory.appendingPathComponent("iquants_expected.safetensors"))
            .tensor(named: type).scalars
        let depth = matrix.columnCount, outputs = matrix.rowCount
        let identity = (0..<(depth * depth)).map { $0 / depth == $0 % depth ? Float(1) : 0 }
        for path in Self.paths {
            var picked = [Float](repeating: .nan, count: depth * outputs)
            _ = matrix.withFusedLayout { weights, rowBytes, layout in
                picked.withUnsafeMutableBufferPointer { y in
                    FusedQuantizedProduct.multiplyTransposed(x: identity, rows: depth, weights: weights, rowBytes: rowBytes,
                                                             layout: layout, outputs: outputs, depth: depth,
                                                             into: y.baseAddress!, path: path)
                }
            }
            let mismatches = (0..<(depth * outputs)).filter { picked[$0] != expected[($0 % outputs) * depth + $0 / outputs] }
            #expect(mismatches.isEmpty, "\(type), \(path): \(mismatches.count) values differ from gguf-py")
        }
    }

    @Test(arguments: [GGUFTensorType.iq4_XS, .iq4_NL, .iq2_S])
    func threadCountsSplitTheRowsWithoutChangingTheProduct(type: GGUFTensorType) {
        // 203 output rows of 1024 columns, 3 activation rows: 623,616 multiply-adds, past GEMM's parallel threshold
        // (2^18), so the product is split over threads.
        let matrix = Self.ggufMatrix(type, rowCount: 203, blocks: 1024 / type.blockSize, seed: 5)
        let x = Tensor(shape: [3, 1024], scalars: Self.activations(rows: 3, columns: 1024, seed: 21))
        let threads = Parallel.threadCount
        defer { Parallel.threadCount = threads }
        Parallel.threadCount = 1
        let single = matrix.matmulTransposed(x)
        Parallel.threadCount = 3
        let split = matrix.matmulTransposed(x)
        #expect(single.scalars.map(\.bitPattern) == split.scalars.map(\.bitPattern), "\(type.name): 1 and 3 threads")
        let expected = x.matmul(matrix.dequantized(), transposeOther: true)
        #expect(single.maxAbsDifference(expected) <= 1e-5 * expected.scalars.map(abs).max()!, "\(type.name)")
    }

    @Test(arguments: [(4, 32, 96), (4, 8, 40), (8, 64, 128), (8, 12, 36), (3, 32, 96), (2, 16, 48), (5, 32, 64), (6, 16, 80)])
    func mlxAffineMatchesTheDequantizedProduct(bits: Int, groupSize: Int, columns: Int) {
        // Columns 40, 36 and 80 leave a tail shorter than one SIMD vector; 3, 5 and 6 bits straddle words.
        let matrix = Self.mlxMatrix(bits: bits, groupSize: groupSize, rowCount: 9, columnCount: columns,
                                    seed: UInt64(bits * 1000 + columns))
        Self.checkFusedProducts(of: matrix, name: "MLX \(bits)-bit, group \(groupSize), \(columns) columns")
    }

    @Test(arguments: [GGUFTensorType.q4_K, .iq4_XS, .iq3_XXS, .iq1_M])
    func productsBelowTheThresholdTakeTheFusedKernel(type: GGUFTensorType) {
        // matmulTransposed picks the fused kernel for few rows and the block GEMM for many; both agree.
        let matrix = Self.ggufMatrix(type, rowCount: 6, blocks: 1, seed: 3)
        let dense = matrix.dequantized()
        #expect((4...Swift.max(4, GEMM.rowDotMaxRows)).contains(FusedQuantizedProduct.maximumRows(depth: 256)))
        for rows in [2, FusedQuantizedProduct.maximumRows(depth: 256) + 5] {
            let x = Tensor(shape: [rows, 256], scalars: Self.activations(rows: rows, columns: 256, seed: 11))
            let expected = x.matmul(dense, transposeOther: true)
            let scale = expected.scalars.map(abs).max()!
            #expect(matrix.matmulTransposed(x).maxAbsDifference(expected) <= 1e-5 * scale)
        }
    }
}
