import Foundation
import Testing
import Tensors
import LanguageModels

/// 16-bit Phi-3 and GPT-NeoX checkpoints keep their fused projections (`qkv_proj`, `gate_up_proj`,
/// `query_key_value`) 16-bit when split into q, k, v (and gate, up), and compute exactly what the model with every
/// weight widened to `Float` computes. Their logits against transformers are checked in ``FamilyTests``.
@Suite struct FusedHalfPrecisionTests {
    static let cases: [(model: String, format: HalfPrecision.Format)] = [("phi3_bf16", .bfloat16), ("gpt_neox_fp16", .float16)]

    @Test(arguments: cases.map(\.model))
    func fusedProjectionsStayInTheStoredFormat(name: String) throws {
        let format = Self.cases.first { $0.model == name }!.format
        let model = try TransformerModel.load(Checkpoint(directory: Fixtures.directory(name)))
        for matrix in HalfPrecisionWeightsTests.matrices(model) {
            guard case .halfPrecision(let half) = matrix else {
                Issue.record("\(name): a weight matrix was widened: \(matrix.shape)")
                continue
            }
            #expect(half.format == format)
        }
    }

    /// Phi-3's q, k and v are row views of `qkv_proj` where the file holds it.
    @Test func phi3QueryKeyValueAreViewsOfTheFusedTensor() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("phi3_bf16"))
        let model = try TransformerModel.load(checkpoint)
        let name = "model.layers.1.self_attn.qkv_proj.weight"
        let file = try checkpoint.weights.file(holding: name).withUnsafeBytes(ofTensor: name) { UnsafeRawPointer($0.baseAddress!) }
        let attention = model.blocks[1].attention
        let q = attention.query.outputSize, kv = attention.key.outputSize, width = attention.query.inputSize
        for (linear, firstRow) in [(attention.query, 0), (attention.key, q), (attention.value, q + kv)] {
            guard case .halfPrecision(let half) = linear.matrix else { Issue.record("widened"); continue }
            #expect(half.withUnsafeBits { UnsafeRawPointer($0.baseAddress!) } == file + 2 * firstRow * width)
        }
    }

    @Test(arguments: cases.map(\.model))
    func logitsEqualTheWidenedModel(name: String) throws {
        let model = try TransformerModel.load(Checkpoint(directory: Fixtures.directory(name)))
        let widened = model.mappingParameters { _, tensor in tensor }
        let ids = (try Fixtures.reference(name)["batch"] as! [String: Any])["input_ids"] as! [[Int]]
        let (ours, theirs) = (model.forward(TokenBatch(ids)), widened.forward(TokenBatch(ids)))
        #expect(ours == theirs, "\(name): max |Δ| \(zip(ours.scalars, theirs.scalars).map { Swift.abs($0 - $1) }.max() ?? 0)")
    }
}
