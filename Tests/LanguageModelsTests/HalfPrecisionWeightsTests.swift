import Foundation
import Testing
import TestScratch
import Tensors
import LanguageModels

/// bfloat16 and float16 checkpoints keep their weight matrices 16-bit, read in place from the mapped file, and
/// compute exactly what the same model with the weights widened to `Float` computes. (Their logits against
/// transformers' are checked with every other family in ``ModelLogitsTests``.)
@Suite struct HalfPrecisionWeightsTests {
    static let cases: [(model: String, format: HalfPrecision.Format)] = [("llama_bf16", .bfloat16), ("qwen2_fp16", .float16)]

    static func matrices(_ model: TransformerModel) -> [WeightMatrix] {
        [model.tokenEmbedding, model.unembedding] + model.blocks.flatMap { block -> [WeightMatrix] in
            let a = block.attention
            var linears = [a.query, a.key, a.value, a.output]
            if let mlp = block.mlp { linears += [mlp.input, mlp.output] + (mlp.gate.map { [$0] } ?? []) }
            return linears.map(\.matrix)
        }
    }

    @Test(arguments: cases.map(\.model))
    func weightMatricesStayInTheStoredFormatInPlace(name: String) throws {
        let format = Self.cases.first { $0.model == name }!.format
        let checkpoint = try Checkpoint(directory: Fixtures.directory(name))
        let model = try TransformerModel.load(checkpoint)
        for matrix in Self.matrices(model) {
            guard case .halfPrecision(let half) = matrix else {
                Issue.record("\(name): a weight matrix was converted: \(matrix.shape)")
                continue
            }
            #expect(half.format == format)
        }
        // The up projection of layer 0 reads the file's bytes where they are.
        let tensorName = "model.layers.0.mlp.up_proj.weight"
        guard case .halfPrecision(let up) = model.blocks[0].mlp!.input.matrix else { return }
        let fileAddress = try checkpoint.weights.file(holding: tensorName).withUnsafeBytes(ofTensor: tensorName) { $0.baseAddress }
        #expect(up.withUnsafeBits { UnsafeRawPointer($0.baseAddress) } == fileAddress)
    }

    @Test(arguments: cases.map(\.model))
    func logitsEqualTheWidenedModel(name: String) throws {
        let model = try TransformerModel.load(Checkpoint(directory: Fixtures.directory(name)))
        let widened = model.mappingParameters { _, tensor in tensor }
        #expect(Self.matrices(widened).allSatisfy { if case .dense = $0 { true } else { false } })
        let ids = (try Fixtures.reference(name)["batch"] as! [String: Any])["input_ids"] as! [[Int]]
        let (ours, theirs) = (model.forward(TokenBatch(ids)), widened.forward(TokenBatch(ids)))
        #expect(ours == theirs, "\(name): max |Δ| \(zip(ours.scalars, theirs.scalars).map { abs($0 - $1) }.max() ?? 0)")
    }

    /// GPT-2 saved in bfloat16: its `Conv1D` weights (stored `[in, out]`) are transposed once and stay 16-bit,
    /// and the model computes what the fp32 model with every parameter rounded to bfloat16 computes.
    @Test func gpt2InBFloat16EqualsTheRoundedFloatModel() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("gpt2"))
        let original = try TransformerModel.load(checkpoint)
        try withTemporaryDirectory { directory in
            try original.save(to: directory, configuration: checkpoint.configuration, dtype: .bfloat16)
            let loaded = try TransformerModel.load(Checkpoint(directory: directory))
            #expect(Self.matrices(loaded).allSatisfy { if case .halfPrecision = $0 { true } else { false } })
            let rounded = original.mappingParameters { _, tensor in
                Tensor(shape: tensor.shape, scalars: HalfPrecision.floats(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: tensor.scalars)))
            }
            let ids = (try Fixtures.reference("gpt2")["batch"] as! [String: Any])["input_ids"] as! [[Int]]
            #expect(loaded.forward(TokenBatch(ids)) == rounded.forward(TokenBatch(ids)))
        }
    }

    /// 16-bit matrices count their stored bytes, 16-bit vectors (norm gains) and fp32 tensors 4 bytes per element.
    @Test func residentBytesCountWhatStaysInMemory() throws {
        let float = try WeightStore(directory: Fixtures.directory("llama_gqa"))
        let stored = try float.tensorNames.reduce(0) { $0 + (try float.info(named: $1).dataOffsets.count) }
        #expect(float.residentByteCount == stored)
        let half = try WeightStore(directory: Fixtures.directory("llama_bf16"))
        var expected = 0
        for name in half.tensorNames {
            let info = try half.info(named: name)
            #expect(info.dtype == .bfloat16)
            expected += info.shape.count == 2 ? 2 * info.elementCount : 4 * info.elementCount
        }
        #expect(half.residentByteCount == expected && expected < stored)
    }

    /// Training and anything else that needs the weights as `Float` tensors gets them widened.
    @Test func parametersAreWidenedOnDemand() throws {
        let model = try TransformerModel.load(Checkpoint(directory: Fixtures.directory("llama_bf16")))
        let parameters = model.parameters
        guard case .halfPrecision(let embedding) = model.tokenEmbedding else {
            Issue.record("the embedding was converted at load")
            return
        }
        #expect(parameters.first { $0.name == "tokenEmbedding" }?.tensor == embedding.floats())
        #expect(model.blocks[0].attention.output.weight.shape == model.blocks[0].attention.output.matrix.shape)
    }
}
