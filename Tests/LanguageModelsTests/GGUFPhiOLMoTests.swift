import Foundation
import Testing
import Tensors
import LanguageModels

/// `phi2` and `olmo` GGUF files written as convert_hf_to_gguf writes them, and a `phi2` file with q, k and v fused
/// in `attn_qkv` as older conversions stored them (scripts/make_gguf_fixtures.py phi2-olmo):
/// logits equal those of transformers' `PhiForCausalLM` / `OlmoForCausalLM` holding the values the files store
/// (transformers' GGUF loader reads neither architecture).
@Suite struct GGUFPhiOLMoTests {
    @Test(arguments: ["phi2.gguf", "olmo.gguf", "phi2-fused-qkv.gguf"]) func logitsMatchTransformers(name: String) throws {
        let url = GGUFTests.directory.appendingPathComponent(name)
        let lm = try LanguageModel.load(from: url)
        let reference = try JSONSerialization.jsonObject(
            with: Data(contentsOf: GGUFTests.directory.appendingPathComponent("phi2_olmo_reference.json"))) as! [String: Any]
        let ids = (reference[name] as! [String: Any])["input_ids"] as! [[Int]]
        let expected = try SafetensorsFile(contentsOf: GGUFTests.directory.appendingPathComponent("phi2_olmo_reference_logits.safetensors"))
            .tensor(named: name).scalars
        expectLogits(lm.model.forward(TokenBatch(ids)), match: expected, name)
        #expect(try lm.tokens("Hello world").count > 1)
    }

    @Test func configurationsComeFromTheMetadata() throws {
        let phi = try ModelConfiguration(gguf: try GGUFTests.file("phi2.gguf"))
        #expect(phi.family == .phi && phi.parallelResidual && phi.activation == .geluTanh && phi.dMLP == 256)
        #expect(phi.attentionQKVBias && phi.mlpBias && !phi.tiedEmbeddings && phi.normEpsilon == 1e-5)
        #expect(phi.rotary(layer: 0)?.rotaryDim == 8 && phi.rotary(layer: 0)?.headDim == 16)
        let olmo = try ModelConfiguration(gguf: try GGUFTests.file("olmo.gguf"))
        #expect(olmo.family == .olmo && olmo.clipQKV == 2 && olmo.nKVHeads == 2 && olmo.activation == .silu)
        #expect(!olmo.attentionQKVBias && !olmo.tiedEmbeddings && olmo.normEpsilon == 1e-5)
    }

    /// A fused `attn_qkv` gives q, k and v as row blocks read in place, and their biases as slices.
    @Test func fusedQueryKeyValueRowsAreReadInPlace() throws {
        let file = try GGUFTests.file("phi2-fused-qkv.gguf")
        let weights = try GGUFWeights(file: file, configuration: try ModelConfiguration(gguf: file))
        let fused = try file.matrix(named: "blk.1.attn_qkv.weight")
        let base = try file.withUnsafeBytes(ofTensor: "blk.1.attn_qkv.weight") { $0.baseAddress! }
        let biases = try file.tensor(named: "blk.1.attn_qkv.bias")
        for (index, part) in ["q_proj", "k_proj", "v_proj"].enumerated() {
            let module = "model.layers.1.self_attn.\(part)"
            #expect(weights.has("\(module).weight") && weights.has("\(module).bias"))
            guard case .gguf(let matrix) = try weights.weightMatrix(module: module, shape: [64, 64], quantization: nil) else {
                Issue.record("\(module): expected a packed Q8_0 matrix"); continue
            }
            #expect(matrix.withUnsafePackedBytes { $0.baseAddress } == base + index * 64 * fused.bytesPerRow)
            #expect(matrix.dequantized() == fused.dequantized().slice(axis: 0, (index * 64)..<(index * 64 + 64)))
            #expect(try weights.tensor(named: "\(module).bias", shape: [64]) == biases.slice(axis: 0, (index * 64)..<(index * 64 + 64)))
        }
    }

    /// OLMo's q/k rows are stored permuted (as for llama) and read back in Hugging Face's order, as a copy.
    @Test func olmoQueryRowsAreUnpermuted() throws {
        let file = try GGUFTests.file("olmo.gguf")
        let weights = try GGUFWeights(file: file, configuration: try ModelConfiguration(gguf: file))
        let stored = try file.tensor(named: "blk.0.attn_k.weight")
        let restored = try weights.weightMatrix(module: "model.layers.0.self_attn.k_proj", shape: [32, 64], quantization: nil)
        #expect(restored.dequantized() == stored.reshaped([2, 8, 2, 64]).transposed(1, 2).reshaped([32, 64]))
    }

    /// olmo2.gguf holds the Hugging Face fixture models/olmo2 in F32, written as convert_hf_to_gguf writes `olmo2`
    /// (scripts/make_gguf_fixtures.py olmo2): its logits are that fixture's reference, transformers'
    /// `Olmo2ForCausalLM` (transformers' GGUF loader does not read `olmo2`).
    @Test func olmo2LogitsMatchTheHuggingFaceFixture() throws {
        let lm = try LanguageModel.load(from: GGUFTests.directory.appendingPathComponent("olmo2.gguf"))
        let c = lm.configuration
        #expect(c.family == .olmo2 && c.qkNorm && c.nKVHeads == 2 && !c.tiedEmbeddings && c.normEpsilon == 1e-6)
        let batch = try Fixtures.reference("olmo2")["batch"] as! [String: Any]
        expectLogits(lm.model.forward(TokenBatch(batch["input_ids"] as! [[Int]])), match: flatFloats(batch["logits"]!), "olmo2.gguf")
    }

    /// olmo3.gguf: an OLMo-3 written as convert_hf_to_gguf writes it, `olmo2` with `attention.sliding_window` 4 and
    /// `attention.sliding_window_pattern` (layers 0-2 slide, layer 3 attends to everything; scripts/make_gguf_fixtures.py
    /// olmo3): its logits on 12 tokens are those of transformers' `Olmo3ForCausalLM` it was written from.
    @Test func olmo3LogitsMatchTransformers() throws {
        let lm = try LanguageModel.load(from: GGUFTests.directory.appendingPathComponent("olmo3.gguf"))
        let c = lm.configuration
        #expect(c.family == .olmo3 && c.slidingWindows == [4, 4, 4, nil] && c.qkNorm && c.normEpsilon == 1e-6)
        #expect(c.optionsInForce.contains("sliding window 4 on layers 0,1,2"))
        let reference = try JSONSerialization.jsonObject(
            with: Data(contentsOf: GGUFTests.directory.appendingPathComponent("olmo3_reference.json"))) as! [String: Any]
        expectLogits(lm.model.forward(TokenBatch(reference["input_ids"] as! [[Int]])), match: flatFloats(reference["logits"]!), "olmo3.gguf")
    }
}
