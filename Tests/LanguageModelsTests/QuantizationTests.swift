import Foundation
import Testing
import Tensors
import LanguageModels

/// MLX-quantized weights against the numpy reference quantizer of scripts/make_fixtures.py.
@Suite struct QuantizationTests {
    private static let matrices = Fixtures.directory("quantized_matrices")

    @Test(arguments: [2, 3, 4, 5, 6, 8])
    func dequantizesEveryBitWidthLikeNumpy(bits: Int) throws {
        let store = try WeightStore(directory: Self.matrices)
        let matrix = try store.quantizedMatrix(module: "b\(bits)", shape: [8, 64], groupSize: 32, bits: bits)
        let expected = try store.tensor(named: "b\(bits).dequantized")
        #expect(matrix.dequantized().maxAbsDifference(expected) <= 1e-6)
        #expect(matrix.rows([5, 0, 5]) == expected.indexSelect(axis: 0, [5, 0, 5]))
    }

    @Test(arguments: [2, 3, 4, 5, 6, 8])
    func productsMatchNumpy(bits: Int) throws {
        let store = try WeightStore(directory: Self.matrices)
        let matrix = try store.quantizedMatrix(module: "b\(bits)", shape: [8, 64], groupSize: 32, bits: bits)
        let reference = try Fixtures.reference("quantized_matrices")
        let x = Tensor(shape: [3, 64], scalars: flatFloats(reference["x"]!))
        let products = (reference["products"] as! [String: [String: Any]])["b\(bits)"]!
        let expected = Tensor(shape: [3, 8], scalars: flatFloats(products["x_times_w_transposed"]!))
        #expect(matrix.matmulTransposed(x).maxAbsDifference(expected) <= 1e-5)
    }

    @Test(arguments: ["llama_mlx_q4", "llama_mlx_q8"])
    func modelMatricesDequantizeLikeNumpy(model: String) throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory(model))
        let dequantized = try SafetensorsFile(contentsOf: Fixtures.directory(model).appendingPathComponent("dequantized.safetensors"))
        let configuration = checkpoint.configuration
        let vocabulary = configuration.vocabularySize, width = configuration.dModel
        let embedding = try checkpoint.weights.weightMatrix(
            module: "model.embed_tokens", shape: [vocabulary, width], quantization: configuration.quantization)
        let keyProjection = try checkpoint.weights.weightMatrix(
            module: "model.layers.0.self_attn.k_proj", shape: [configuration.nKVHeads * configuration.dHead, width],
            quantization: configuration.quantization)
        guard case .quantized = embedding, case .quantized = keyProjection else {
            Issue.record("\(model): expected quantized matrices")
            return
        }
        #expect(embedding.dequantized().maxAbsDifference(try dequantized.tensor(named: "model.embed_tokens.weight")) <= 1e-6)
        #expect(keyProjection.dequantized().maxAbsDifference(try dequantized.tensor(named: "model.layers.0.self_attn.k_proj.weight")) <= 1e-6)
    }

    @Test func perModuleOverrideSelectsItsBitWidth() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("llama_mlx_q4"))
        let configuration = checkpoint.configuration
        let down = try checkpoint.weights.weightMatrix(
            module: "model.layers.1.mlp.down_proj", shape: [configuration.dModel, configuration.dMLP],
            quantization: configuration.quantization)
        guard case .quantized(let matrix) = down else {
            Issue.record("expected a quantized matrix")
            return
        }
        #expect(matrix.bits == 8 && matrix.groupSize == 64)
        let up = try checkpoint.weights.weightMatrix(
            module: "model.layers.1.mlp.up_proj", shape: [configuration.dMLP, configuration.dModel],
            quantization: configuration.quantization)
        guard case .quantized(let upMatrix) = up else {
            Issue.record("expected a quantized matrix")
            return
        }
        #expect(upMatrix.bits == 4 && upMatrix.groupSize == 32)
        let norm = try checkpoint.weights.tensor(named: "model.norm.weight", shape: [configuration.dModel])
        #expect(norm.shape == [64])
    }

    @Test func quantizedProductsEqualDequantizeThenMatmul() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("llama_mlx_q4"))
        let configuration = checkpoint.configuration
        let embedding = try checkpoint.weights.weightMatrix(
            module: "model.embed_tokens", shape: [configuration.vocabularySize, configuration.dModel],
            quantization: configuration.quantization)
        let dense = embedding.dequantized()
        // Batched activations [2, 3, 64] through the tied unembedding; productsSpanSeveralRowBlocks covers
        // matrices larger than one dequantization block.
        let x = Tensor(shape: [2, 3, 64], scalars: (0..<384).map { Float(($0 * 37) % 23) / 11 - 1 })
        #expect(embedding.matmulTransposed(x).maxAbsDifference(x.matmul(dense, transposeOther: true)) <= 1e-4)
        let y = Tensor(shape: [4, 320], scalars: (0..<1280).map { Float(($0 * 17) % 29) / 14 - 1 })
        guard case .quantized(let matrix) = embedding else { return }
        #expect(matrix.matmul(y).maxAbsDifference(y.matmul(dense)) <= 1e-4)
        #expect(embedding.rows([3, 319, 3]) == dense.indexSelect(axis: 0, [3, 319, 3]))
    }

    @Test func productsSpanSeveralRowBlocks() {
        // Products dequantize blocks of 2^20 values: 2048 columns -> 512 rows per block, so 1100 rows take three
        // blocks (the last one partial).
        let rows = 1100, columns = 2048, groupSize = 64, bits = 4
        let packed = (0..<(rows * columns * bits / 32)).map { UInt32(truncatingIfNeeded: $0 &* 2_654_435_761) }
        let groups = rows * columns / groupSize
        let scales = (0..<groups).map { Float($0 % 7 + 1) / 64 }
        let biases = (0..<groups).map { Float($0 % 5) / 8 - 0.25 }
        let matrix = QuantizedMatrix(rowCount: rows, columnCount: columns, bits: bits, groupSize: groupSize,
                                     packed: packed, scales: scales, biases: biases)
        let dense = matrix.dequantized()
        // Code 0 of row 0 is the low 4 bits of word 0 (0), code 1 the next 4 bits, ...
        #expect(dense[0, 0] == scales[0] * 0 + biases[0])
        let word1 = packed[1]
        #expect(dense[0, 8 + 3] == scales[0] * Float((word1 >> 12) & 0xf) + biases[0])
        let x = Tensor(shape: [3, columns], scalars: (0..<(3 * columns)).map { Float($0 % 13) / 13 - 0.5 })
        #expect(matrix.matmulTransposed(x).maxAbsDifference(x.matmul(dense, transposeOther: true)) <= 1e-3)
        let y = Tensor(shape: [3, rows], scalars: (0..<(3 * rows)).map { Float($0 % 11) / 11 - 0.5 })
        #expect(matrix.matmul(y).maxAbsDifference(y.matmul(dense)) <= 1e-3)
        for range in [0..<64, 37..<300, 1984..<2048, 5..<6] {
            #expect(matrix.columns(range) == dense.slice(axis: 1, range), "columns \(range)")
        }
    }

    @Test func columnBlocksOfCodesStraddlingWords() {
        // 3-bit codes cross 32-bit word boundaries; every column range must match the whole-row dequantization.
        let rows = 5, columns = 96, groupSize = 32, bits = 3
        let packed = (0..<(rows * columns * bits / 32)).map { UInt32(truncatingIfNeeded: $0 &* 2_246_822_519 &+ 7) }
        let groups = rows * columns / groupSize
        let matrix = QuantizedMatrix(rowCount: rows, columnCount: columns, bits: bits, groupSize: groupSize, packed: packed,
                                     scales: (0..<groups).map { Float($0 + 1) / 16 }, biases: (0..<groups).map { Float($0) / 4 - 1 })
        let dense = matrix.dequantized()
        for range in [0..<96, 10..<11, 31..<33, 40..<95] {
            #expect(matrix.columns(range) == dense.slice(axis: 1, range), "columns \(range)")
        }
    }

    @Test func gradientFlowsThroughTheQuantizedProduct() throws {
        let store = try WeightStore(directory: Self.matrices)
        let matrix = try store.quantizedMatrix(module: "b4", shape: [8, 64], groupSize: 32, bits: 4)
        let dense = matrix.dequantized()
        let x0 = Tensor(shape: [2, 64], scalars: (0..<128).map { Float($0 % 9) / 9 - 0.4 })
        let seed = Tensor(shape: [2, 8], scalars: (0..<16).map { Float($0) / 8 - 1 })
        let gradient = withGradients { tape -> Tensor in
            let x = tape.watch(x0)
            let loss = (matrix.matmulTransposed(x) * seed).sum()
            return tape.gradient(of: loss, withRespectTo: x)
        }
        #expect(gradient.maxAbsDifference(seed.matmul(dense)) <= 1e-5)
    }

    @Test func shapeMismatchesAreReported() throws {
        let store = try WeightStore(directory: Self.matrices)
        expectLoadingError(containing: ["b4.weight: expected packed shape [8, 16] for [8, 128] at 4 bits, found [8, 8] (that would be 2 bits)"]) {
            _ = try store.quantizedMatrix(module: "b4", shape: [8, 128], groupSize: 32, bits: 4)
        }
        expectLoadingError(containing: ["b4.scales: expected shape [8, 1], found [8, 2]"]) {
            _ = try store.quantizedMatrix(module: "b4", shape: [8, 64], groupSize: 64, bits: 4)
        }
        expectLoadingError(containing: ["b4.weight: expected packed shape [8, 16] for [8, 64] at 8 bits, found [8, 8] (that would be 4 bits)"]) {
            _ = try store.quantizedMatrix(module: "b4", shape: [8, 64], groupSize: 32, bits: 8)
        }
        expectLoadingError(containing: ["b4.scales", "config.json has no 'quantization' settings"]) {
            _ = try store.weightMatrix(module: "b4", shape: [8, 64], quantization: nil)
        }
        let excluded = MLXQuantization(groupSize: 32, bits: 4, overrides: ["b4": .unquantized])
        expectLoadingError(containing: ["marks b4 unquantized"]) {
            _ = try store.weightMatrix(module: "b4", shape: [8, 64], quantization: excluded)
        }
    }
}
