import Foundation
import Testing
import LanguageModels
import TestScratch

/// Access to the checkpoint fixtures written by scripts/make_fixtures.py.
enum Fixtures {
    static let models: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("models")

    static func directory(_ name: String) -> URL { models.appendingPathComponent(name) }

    /// The model's reference.json as plain JSON objects.
    static func reference(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory(name).appendingPathComponent("reference.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// The fixture checkpoint `name`, loaded.
    static func model(_ name: String) throws -> TransformerModel {
        try TransformerModel.load(Checkpoint(directory: directory(name)))
    }

    /// Expects the fixture's batch ("batch" in reference.json) to give transformers' logits (``expectLogits(_:match:_:)``).
    static func expectBatchLogitsMatch(_ name: String) throws {
        let batch = try reference(name)["batch"] as! [String: Any]
        let logits = try model(name).forward(TokenBatch(batch["input_ids"] as! [[Int]]))
        expectLogits(logits, match: flatFloats(batch["logits"]!), name)
    }

    /// Expects the real positions of the fixture's left-padded batch within 1e-4 of its logit scale of transformers'.
    static func expectPaddedLogitsMatchAtScale(_ name: String) throws {
        let padded = try reference(name)["padded"] as! [String: Any]
        let scale = Swift.max(1, flatFloats(padded["logits"]!).map(Swift.abs).max()!)
        let worst = try paddedLogitsError(name)
        #expect(worst <= 1e-4 * scale, "\(name): max |Δ logits| at real positions = \(worst) at logit scale \(scale)")
    }

    /// Expects a quantized fixture exported by `save(to:configuration:)` to be a checkpoint without quantization
    /// settings or any tensor `isQuantizationTensor` matches, whose reload gives transformers' logits of the fixture.
    static func expectExportWritesDequantizedWeights(_ name: String, isQuantizationTensor: @escaping (String) -> Bool) throws {
        let checkpoint = try Checkpoint(directory: directory(name))
        let model = try TransformerModel.load(checkpoint)
        try withTemporaryDirectory { directory in
            try model.save(to: directory, configuration: checkpoint.configuration)
            let reloaded = try Checkpoint(directory: directory)
            #expect(reloaded.configuration.quantization == nil)
            #expect(!reloaded.weights.tensorNames.contains(where: isQuantizationTensor))
            let batch = try reference(name)["batch"] as! [String: Any]
            let logits = try TransformerModel.load(reloaded).forward(TokenBatch(batch["input_ids"] as! [[Int]]))
            expectLogits(logits, match: flatFloats(batch["logits"]!), "\(name) exported")
        }
    }

    /// The largest |logit − transformers' logit| at the real (unpadded) positions of the fixture's left-padded
    /// batch (`reference.json`'s "padded" entry).
    static func paddedLogitsError(_ name: String) throws -> Float {
        let padded = try reference(name)["padded"] as! [String: Any]
        let model = try model(name)
        let ids = padded["input_ids"] as! [[Int]]
        let mask = (padded["attention_mask"] as! [[Int]]).map { $0.map { $0 == 1 } }
        let logits = model.forward(TokenBatch(tokens: ids, mask: mask))
        let expected = flatFloats(padded["logits"]!)
        let vocab = model.vocabularySize
        var worst: Float = 0
        for (b, row) in mask.enumerated() {
            for (p, real) in row.enumerated() where real {
                for v in 0..<vocab {
                    let i = (b * ids[0].count + p) * vocab + v
                    worst = Swift.max(worst, Swift.abs(logits.scalars[i] - expected[i]))
                }
            }
        }
        return worst
    }

    static let modelNames = ["gpt2", "llama_gqa", "llama_bf16", "llama_untied", "llama_sharded", "mistral",
                             "qwen2", "qwen2_fp16", "qwen3", "llama_mlx_q4", "llama_mlx_q8"]
}

/// JSON numbers (nested arrays) as a flat Float array.
/// Expects `logits` to equal `expected` (same count) within `1e-4` of the logit scale (the largest |expected|, at
/// least 1), naming `label` and the worst difference when they do not.
func expectLogits(_ logits: Tensor, match expected: [Float], _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(logits.count == expected.count, sourceLocation: sourceLocation)
    let scale = Swift.max(1, expected.map(Swift.abs).max() ?? 0)
    let worst = zip(logits.scalars, expected).map { Swift.abs($0 - $1) }.max() ?? .infinity
    #expect(worst <= 1e-4 * scale, "\(label): max |Δ logits| = \(worst) at logit scale \(scale)", sourceLocation: sourceLocation)
}

func flatFloats(_ value: Any) -> [Float] {
    if let array = value as? [Any] { return array.flatMap(flatFloats) }
    return [(value as! NSNumber).floatValue]
}

/// The bytes of a safetensors file: 8-byte little-endian header size, the header, the data.
func safetensorsBytes(header: String, data: [UInt8], declaredHeaderSize: UInt64? = nil) -> Data {
    let json = Array(header.utf8)
    var bytes = Data()
    withUnsafeBytes(of: (declaredHeaderSize ?? UInt64(json.count)).littleEndian) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: json)
    bytes.append(contentsOf: data)
    return bytes
}

/// Runs `body`, expecting a `LoadingError` whose message contains every fragment.
func expectLoadingError(containing fragments: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected a LoadingError containing \(fragments), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as LoadingError {
        for fragment in fragments where !error.description.contains(fragment) {
            Issue.record("error '\(error.description)' does not contain '\(fragment)'", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a LoadingError, got \(error)", sourceLocation: sourceLocation)
    }
}
