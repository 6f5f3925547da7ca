import Foundation
import Testing
import TestScratch
import Tensors
import LanguageModels

/// Reading the fixture checkpoints: values against the summaries recorded by transformers/torch.
@Suite struct WeightStoreTests {
    /// Every floating-point tensor's sum, abs-sum, first and last elements equal the recorded ones.
    @Test(arguments: ["gpt2", "llama_gqa", "llama_bf16", "qwen2_fp16", "llama_sharded", "qwen3", "llama_mlx_q8"])
    func tensorsMatchTheRecordedValues(model: String) throws {
        let store = try WeightStore(directory: Fixtures.directory(model))
        let summaries = try Fixtures.reference(model)["tensors"] as! [String: [String: Any]]
        let stored = summaries.filter { $0.value["file"] as? String != "dequantized.safetensors" }
        #expect(Set(store.tensorNames) == Set(stored.keys))
        for (name, summary) in stored {
            #expect(try store.shape(of: name) == (summary["shape"] as! [Int]), "\(name)")
            guard let sum = summary["sum"] as? Double else { continue }
            let values = try store.tensor(named: name).scalars
            let total = values.reduce(0.0) { $0 + Double($1) }
            let absTotal = values.reduce(0.0) { $0 + Double(abs($1)) }
            let scale = max(1, summary["abs_sum"] as! Double)
            #expect(abs(total - sum) <= 1e-6 * scale, "\(model) \(name): sum \(total) vs \(sum)")
            #expect(abs(absTotal - (summary["abs_sum"] as! Double)) <= 1e-6 * scale, "\(model) \(name)")
            #expect(Array(values.prefix(4)) == flatFloats(summary["first"]!), "\(model) \(name)")
            #expect(Array(values.suffix(4)) == flatFloats(summary["last"]!), "\(model) \(name)")
        }
    }

    @Test func reportsTheCheckpointDType() throws {
        #expect(try WeightStore(directory: Fixtures.directory("llama_gqa")).dtype == .float32)
        #expect(try WeightStore(directory: Fixtures.directory("llama_bf16")).dtype == .bfloat16)
        #expect(try WeightStore(directory: Fixtures.directory("qwen2_fp16")).dtype == .float16)
        let fp16 = try WeightStore(directory: Fixtures.directory("qwen2_fp16"))
        #expect(try fp16.dtype(of: "model.norm.weight") == .float16)
    }

    @Test func shardedCheckpointEqualsTheSingleFileOne() throws {
        let sharded = try WeightStore(directory: Fixtures.directory("llama_sharded"))
        let single = try WeightStore(directory: Fixtures.directory("llama_untied"))
        #expect(sharded.files.count > 1)
        #expect(sharded.tensorNames == single.tensorNames)
        for name in single.tensorNames {
            #expect(try sharded.tensor(named: name) == single.tensor(named: name), "\(name)")
        }
    }

    @Test func checksExpectedShapes() throws {
        let store = try WeightStore(directory: Fixtures.directory("llama_gqa"))
        let upProjection = try store.tensor(named: "model.layers.0.mlp.up_proj.weight", shape: [64, 32])
        #expect(upProjection.shape == [64, 32])
        expectLoadingError(containing: ["model.layers.0.mlp.up_proj.weight: expected shape [32, 64], found [64, 32]"]) {
            _ = try store.tensor(named: "model.layers.0.mlp.up_proj.weight", shape: [32, 64])
        }
    }

    @Test func missingTensorErrorNamesTheTensorTheFilesAndSimilarNames() throws {
        let gpt2 = try WeightStore(directory: Fixtures.directory("gpt2"))
        #expect(gpt2.has("transformer.h.0.attn.c_attn.weight"))
        #expect(!gpt2.has("h.0.attn.c_attn.weight"))
        expectLoadingError(containing: ["tensor 'h.0.attn.c_attn.weight' not found", "searched model.safetensors",
                                        "similar names: transformer.h.0.attn.c_attn.weight"]) {
            _ = try gpt2.tensor(named: "h.0.attn.c_attn.weight")
        }
        let sharded = try WeightStore(directory: Fixtures.directory("llama_sharded"))
        expectLoadingError(containing: ["tensor 'model.layers.9.mlp.up_proj.weight' not found",
                                        "model.safetensors.index.json weight_map over", "model-00001-of-"]) {
            _ = try sharded.tensor(named: "model.layers.9.mlp.up_proj.weight")
        }
    }

    /// Runs `body` on a copy of the sharded fixture whose index or shards `damage` damaged.
    private func withDamagedShardedCopy(_ damage: (URL, inout [String: Any]) throws -> Void, _ body: (URL) -> Void) throws {
        try withTemporaryDirectory { directory in
            let source = Fixtures.directory("llama_sharded")
            for file in try FileManager.default.contentsOfDirectory(atPath: source.path) {
                try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: directory.appendingPathComponent(file))
            }
            let indexURL = directory.appendingPathComponent("model.safetensors.index.json")
            var index = try JSONSerialization.jsonObject(with: Data(contentsOf: indexURL)) as! [String: Any]
            try damage(directory, &index)
            try JSONSerialization.data(withJSONObject: index).write(to: indexURL)
            body(directory)
        }
    }

    @Test func missingShardIsReported() throws {
        try withDamagedShardedCopy({ directory, index in
            let map = index["weight_map"] as! [String: String]
            try FileManager.default.removeItem(at: directory.appendingPathComponent(map["model.norm.weight"]!))
        }) { directory in
            expectLoadingError(containing: ["model.safetensors.index.json", "shard 'model-0000", "is missing: no file at"]) {
                _ = try WeightStore(directory: directory)
            }
        }
    }

    @Test func tensorListedInTheIndexButAbsentIsReported() throws {
        try withDamagedShardedCopy({ _, index in
            var map = index["weight_map"] as! [String: String]
            map["model.layers.0.extra.weight"] = map["model.norm.weight"]
            index["weight_map"] = map
        }) { directory in
            expectLoadingError(containing: ["weight_map puts 'model.layers.0.extra.weight' in shard 'model-0000", "has no tensor of that name"]) {
                _ = try WeightStore(directory: directory)
            }
        }
    }

    @Test func emptyDirectoryIsReported() throws {
        try withTemporaryDirectory { directory in
            expectLoadingError(containing: [directory.path, "no checkpoint found", "model.safetensors.index.json"]) {
                _ = try WeightStore(directory: directory)
            }
        }
    }

    @Test func checkpointBundlesConfigurationAndWeights() throws {
        let checkpoint = try Checkpoint(directory: Fixtures.directory("qwen2"))
        #expect(checkpoint.configuration.family == .llama(.qwen2))
        #expect(checkpoint.weights.has("model.layers.1.self_attn.q_proj.bias"))
    }
}
