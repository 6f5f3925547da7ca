import Foundation
import Testing
import TestScratch
import LanguageModels

/// The safetensors writer, config.json encoding, Hugging Face export and random initialization.
@Suite struct SavingTests {
    static let denseFamilies = ["gpt2", "llama_gqa", "llama_bf16", "llama_untied", "mistral", "qwen2", "qwen3"]

    @Test func writerRoundTripsThroughTheReader() throws {
        try withTemporaryDirectory { directory in
            let a = Tensor(shape: [2, 3], scalars: [1, -2.5, 3e-8, 65504, -0, 0.1])
            let b = Tensor(shape: [3], scalars: [1, 0.333333, -7])
            var writer = SafetensorsWriter(metadata: ["format": "pt", "note": "x"])
            writer.add(a, named: "a")
            writer.add(b, named: "b.half", as: .float16)
            writer.add(b, named: "b.brain", as: .bfloat16)
            writer.add(Tensor.zeros([0, 4]), named: "empty")
            let url = directory.appendingPathComponent("w.safetensors")
            try writer.write(to: url)

            let bytes = try Data(contentsOf: url)
            let headerSize = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            #expect((8 + headerSize) % 8 == 0, "data section must start 8-byte aligned")
            let file = try SafetensorsFile(contentsOf: url)
            #expect(file.metadata == ["format": "pt", "note": "x"])
            #expect(try file.tensor(named: "a") == a)
            #expect(try file.info(named: "b.half").dtype == .float16)
            #expect(try file.tensor(named: "b.half").scalars == HalfPrecision.floats(fromFloat16Bits: HalfPrecision.float16Bits(from: b.scalars)))
            #expect(try file.tensor(named: "b.brain").scalars == HalfPrecision.floats(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: b.scalars)))
            #expect(try file.tensor(named: "empty").shape == [0, 4])
            // No temporary file is left behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["w.safetensors"])
        }
    }

    @Test(arguments: denseFamilies) func configJSONRoundTrips(name: String) throws {
        let original = try ModelConfiguration(contentsOf: Fixtures.directory(name))
        let decoded = try ModelConfiguration(json: try original.configJSON())
        #expect(decoded == original)
    }

    @Test func configJSONRoundTripsWindowsAndRotaryScaling() throws {
        let rotary = RotaryEmbedding(headDim: 16, base: 500_000, scaling: .llama3(factor: 8, lowFrequencyFactor: 1,
                                                                                 highFrequencyFactor: 4, originalMaxPositionEmbeddings: 64))
        let llama = ModelConfiguration(family: .llama(.llama), dModel: 32, nLayers: 2, nHeads: 2, nKVHeads: 1, dMLP: 48,
                                       vocabularySize: 50, maxPositions: 128, normEpsilon: 1e-5, activation: .silu,
                                       positionEncoding: .rotary(rotary), attentionQKVBias: true, attentionOutputBias: true,
                                       mlpBias: true, tiedEmbeddings: false, bosTokenIDs: [1], eosTokenIDs: [2, 3])
        #expect(try ModelConfiguration(json: llama.configJSON()) == llama)
        var qwen = llama
        qwen.family = .llama(.qwen2)
        qwen.positionEncoding = .rotary(RotaryEmbedding(headDim: 16, scaling: .linear(factor: 2)))
        qwen.attentionOutputBias = false
        qwen.mlpBias = false
        qwen.slidingWindows = [nil, 8]
        #expect(try ModelConfiguration(json: qwen.configJSON()) == qwen)
        var mistral = qwen
        mistral.family = .llama(.mistral)
        mistral.attentionQKVBias = false
        mistral.slidingWindows = [nil, nil]
        let json = try JSONSerialization.jsonObject(with: mistral.configJSON()) as! [String: Any]
        #expect(json["sliding_window"] is NSNull, "Mistral's default window must not apply")
        #expect(try ModelConfiguration(json: mistral.configJSON()) == mistral)
    }

    @Test func unrepresentableConfigurationsAreRefused() throws {
        var gpt2 = try ModelConfiguration(contentsOf: Fixtures.directory("gpt2"))
        gpt2.nKVHeads = 1
        #expect(throws: SavingError.self) { try gpt2.configJSON() }
        var qwen2 = try ModelConfiguration(contentsOf: Fixtures.directory("qwen2"))
        qwen2.attentionQKVBias = false
        do {
            _ = try qwen2.configJSON()
            Issue.record("expected an error")
        } catch let error as SavingError {
            #expect(error.description.contains("qwen2 has q/k/v biases"))
        }
    }

    @Test(arguments: denseFamilies) func exportReloadsToIdenticalLogits(name: String) throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory(name))
        let model = try TransformerModel.load(checkpoint)
        try withTemporaryDirectory { directory in
            try model.save(to: directory, configuration: checkpoint.configuration)
            let reloaded = try TransformerModel.load(Checkpoint(directory: directory))
            let batch = TokenBatch([[3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8]])
            #expect(reloaded.forward(batch) == model.forward(batch), "\(name): exported logits differ")
            let names = try WeightStore(directory: directory).tensorNames
            #expect(names.contains("lm_head.weight") == !checkpoint.configuration.tiedEmbeddings)
            // The export uses the checkpoint's own names (bf16 weights widen exactly, so values match too).
            #expect(Set(names).isSubset(of: Set(checkpoint.weights.tensorNames)))
            for tensorName in names {
                #expect(try WeightStore(directory: directory).tensor(named: tensorName) == checkpoint.weights.tensor(named: tensorName),
                        "\(name): \(tensorName)")
            }
        }
    }

    @Test func exportRefusesAModelThatDoesNotFitItsConfiguration() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("llama_gqa"))
        var configuration = checkpoint.configuration
        configuration.attentionQKVBias = true
        configuration.attentionOutputBias = true
        let model = try TransformerModel.load(checkpoint)
        #expect(throws: SavingError.self) { try model.huggingFaceTensors(configuration: configuration) }
    }

    @Test func randomInitializationIsSeededAndGPT2Style() throws {
        let configuration = try ModelConfiguration(contentsOf: Fixtures.directory("gpt2"))
        let a = try TransformerModel.random(configuration: configuration, seed: 7)
        let b = try TransformerModel.random(configuration: configuration, seed: 7)
        let c = try TransformerModel.random(configuration: configuration, seed: 8)
        #expect(a.parameters.map(\.tensor) == b.parameters.map(\.tensor))
        #expect(a.parameters.map(\.tensor) != c.parameters.map(\.tensor))
        let byName = Dictionary(uniqueKeysWithValues: a.parameters.map { ($0.name, $0.tensor) })
        func deviation(_ t: Tensor) -> Float { (t.squared().mean().item - t.mean().item * t.mean().item).squareRoot() }
        #expect(Swift.abs(deviation(byName["tokenEmbedding"]!) - 0.02) < 0.002)
        let residual = 0.02 / (2 * Float(configuration.nLayers)).squareRoot()
        #expect(Swift.abs(deviation(byName["blocks.0.mlp.output.weight"]!) - residual) < 0.1 * residual)
        #expect(byName["blocks.0.ln1.weight"]! == .ones([configuration.dModel]))
        #expect(byName["blocks.0.attention.query.bias"]! == .zeros([configuration.dModel]))
        #expect(a.tiedEmbeddings && byName["unembedding"] == nil)
    }

    @Test func parametersReplaceEveryTensorOnce() throws {
        let model = try TransformerModel.load(Checkpoint(directory: Fixtures.directory("qwen3")))
        let parameters = model.parameters
        #expect(Set(parameters.map(\.name)).count == parameters.count)
        #expect(parameters.contains { $0.name == "blocks.0.attention.queryNorm.weight" })
        let doubled = model.replacingParameters(parameters.map { $0.tensor * 2 })
        #expect(doubled.parameters.map(\.tensor) == parameters.map { $0.tensor * 2 })
        #expect(doubled.unembedding.dequantized() == model.unembedding.dequantized() * 2)
        // A tied model lists its embedding once and replacing it replaces the unembedding too.
        let tied = try TransformerModel.load(Checkpoint(directory: Fixtures.directory("gpt2")))
        #expect(tied.tiedEmbeddings && !tied.parameters.contains { $0.name == "unembedding" })
        let tiedDoubled = tied.replacingParameters(tied.parameters.map { $0.tensor * 2 })
        #expect(tiedDoubled.unembedding.dequantized() == tied.tokenEmbedding.dequantized() * 2)
    }
}
