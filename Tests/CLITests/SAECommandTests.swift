import Circuits
import Foundation
import Testing
import TestScratch

/// `interp sae` on the embedded model with a small seeded standard SAE written in SAELens' format: the command prints
/// what the library computes (the library itself is checked against SAELens in InterpTests' SparseAutoencoderTests),
/// and refuses a bad SAE naming the file and field.
@Suite struct SAECommandTests {
    /// A standard SAE of `blocks.1.hook_resid_pre` (d_in 128, 16 features) with seeded weights.
    static func writeSAE(to directory: URL, architecture: String = "standard") throws {
        var generator = SeededGenerator(seed: 7)
        let config = #"{"architecture": "\#(architecture)", "d_in": 128, "d_sae": 16, "dtype": "float32", "#
            + #""metadata": {"hook_name": "blocks.1.hook_resid_pre", "sae_lens_version": "6.54.12"}}"#
        try Data(config.utf8).write(to: directory.appendingPathComponent("cfg.json"))
        var writer = SafetensorsWriter()
        writer.add(Tensor.randomNormal([128, 16], standardDeviation: 0.3, using: &generator), named: "W_enc")
        writer.add(Tensor.randomNormal([16], standardDeviation: 0.3, using: &generator), named: "b_enc")
        writer.add(Tensor.randomNormal([16, 128], standardDeviation: 0.3, using: &generator), named: "W_dec")
        writer.add(Tensor.randomNormal([128], standardDeviation: 0.1, using: &generator), named: "b_dec")
        try writer.write(to: directory.appendingPathComponent("sae_weights.safetensors"))
    }

    @Test func promptPrintsTheLibrarysFeaturesAndErrors() throws {
        try withTemporaryDirectory { directory in
            try Self.writeSAE(to: directory)
            let prompt = "When Mary and John went to the store"
            let result = try CLI.run(["sae", "--sae", directory.path, "--prompt", prompt, "--top-k", "3", "--json"])
            #expect(result.status == 0, "\(result.standardError)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
            let lm = try LanguageModel.load(from: URL(fileURLWithPath: EmbeddedModelPath.directory))
            let sae = try SparseAutoencoder(contentsOf: directory, model: lm.model)
            let ids = try lm.tokens(prompt)
            let report = try SAEReconstruction(model: lm.model, sae: sae, tokens: ids)
            #expect(json["hook"] as? String == "blocks.1.hook_resid_pre" && json["architecture"] as? String == "standard")
            for (key, value) in [("fractionOfVarianceUnexplained", report.fractionOfVarianceUnexplained), ("loss", report.loss),
                                 ("splicedLoss", report.splicedLoss), ("l0", report.l0)] {
                #expect(abs((json[key] as! NSNumber).floatValue - value) <= 1e-5 * max(1, abs(value)), "\(key)")
            }
            let positions = try #require(json["positions"] as? [[String: Any]])
            #expect(positions.count == ids.count)
            let last = try #require(positions.last?["features"] as? [[String: Any]])
            let row = report.features.select(axis: 0, ids.count - 1).scalars
            let expected = row.indices.sorted { row[$0] > row[$1] }.prefix(3).filter { row[$0] > 0 }
            #expect(last.map { $0["feature"] as! Int } == Array(expected))
        }
    }

    @Test func gemmaScopeArchivesNeedTheirHook() throws {
        let result = try CLI.run(["sae", "--sae", "/nonexistent/params.npz", "--prompt", "Alice"])
        #expect(result.status != 0 && result.standardError.contains("does not record its hook; give it after a colon"), "\(result.standardError)")
        let wrongWidth = try CLI.run(["sae", "--sae", "/nonexistent/params.npz:blocks.1.hook_resid_pre", "--prompt", "Alice"])
        #expect(wrongWidth.status != 0 && wrongWidth.standardError.contains("/nonexistent/params.npz: cannot read"), "\(wrongWidth.standardError)")
    }

    @Test func taskPrintsTheAttribution() throws {
        try withTemporaryDirectory { directory in
            try Self.writeSAE(to: directory)
            let task = EmbeddedModelPath.directory + "/task.json"
            let result = try CLI.run(["sae", "--sae", directory.path, "--task", task, "--limit", "2", "--top-n", "4", "--json"])
            #expect(result.status == 0, "\(result.standardError)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
            let lm = try LanguageModel.load(from: URL(fileURLWithPath: EmbeddedModelPath.directory))
            var file = try TaskFile(contentsOf: URL(fileURLWithPath: task))
            file.examples = Array(file.examples.prefix(2))
            let pairs = try file.promptPairs(for: lm, source: task)
            let attribution = try SAEFeatureAttribution(model: lm.model, saes: [try SparseAutoencoder(contentsOf: directory, model: lm.model)],
                                                        pairs: pairs, metric: .logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)).attribute()
            let total = try #require(json["total"] as? [[String: Any]])
            #expect(total.map { $0["node"] as! String } == attribution.top(4, byPosition: false).map(\.node))
            #expect((json["byPosition"] as? [[String: Any]])?.count == 4)
        }
    }

    @Test func badSAEIsRefusedNamingTheField() throws {
        try withTemporaryDirectory { directory in
            try Self.writeSAE(to: directory, architecture: "skip_transcoder")
            let result = try CLI.run(["sae", "--sae", directory.path, "--prompt", "hello"])
            #expect(result.status != 0)
            #expect(result.standardError.contains("cfg.json: architecture 'skip_transcoder' is not supported"), "\(result.standardError)")
        }
    }
}
