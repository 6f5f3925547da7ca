import Foundation
import Testing
import TestScratch

/// `interp prune` on the embedded model and `interp methods-benchmark`.
@Suite struct PruneCommandTests {
    @Test func pruneResumesFromItsCheckpointAndRefusesAnotherRun() throws {
        try withTemporaryDirectory { directory in
            let task = EmbeddedModelPath.directory + "/task.json"
            let state = directory.appendingPathComponent("masks.json").path
            let arguments = ["prune", "--task", task, "--limit", "4", "--steps", "30", "--sparsity", "0.01", "--seed", "2",
                             "--checkpoint", state, "--json"]
            let first = try CLI.run(arguments)
            #expect(first.status == 0, "\(first.standardError)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(first.standardOutput.utf8)) as? [String: Any])
            #expect(summary["method"] as? String == "mask-hard-concrete")
            #expect((summary["edges"] as? Int ?? 0) > 0)
            #expect(FileManager.default.fileExists(atPath: state))
            let resumed = try CLI.run(arguments + ["--resume"])
            #expect(resumed.status == 0, "\(resumed.standardError)")
            #expect(resumed.standardOutput == first.standardOutput)
            let other = try CLI.run(["prune", "--task", task, "--limit", "4", "--steps", "30", "--sparsity", "0.02", "--seed", "2",
                                     "--checkpoint", state, "--resume"])
            #expect(other.status != 0 && other.standardError.contains("another run"), "\(other.standardError)")
        }
    }

    @Test func acdcAndPruneNameAForeignCheckpointAndNeedOneToResume() throws {
        let task = EmbeddedModelPath.directory + "/task.json"
        try withTemporaryDirectory { scratch in
            let masks = scratch.appendingPathComponent("masks.json").path
            let pruned = try CLI.run(["prune", "--task", task, "--limit", "2", "--steps", "2", "--checkpoint", masks])
            #expect(pruned.status == 0, "\(pruned.standardError)")
            let acdc = try CLI.run(["acdc", "--task", task, "--limit", "2", "--threshold", "0.1", "--checkpoint", masks, "--resume"])
            #expect(acdc.status != 0 && acdc.standardError.contains("\(masks): not an ACDC checkpoint"), "\(acdc.standardError)")
            let alone = try CLI.run(["prune", "--task", task, "--limit", "2", "--steps", "2", "--resume"])
            #expect(alone.status != 0 && alone.standardError.contains("--resume needs --checkpoint FILE"), "\(alone.standardError)")
        }
    }

    @Test func methodsBenchmarkPrintsEveryMethodsAUROC() throws {
        let result = try CLI.run(["methods-benchmark", "--examples", "4", "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: String]])
        #expect(rows.map { $0["method"] } == ["eap", "eap-ig", "eap-ig-activations", "clean-corrupted", "information-flow-routes", "exact", "acdc", "mask-hard-concrete", "mask-ugs"])
        #expect(rows.first { $0["method"] == "exact" }?["auroc"] == "1.0000")
    }

    @Test func theKnownCircuitRecipeTrainsAModelThatMethodsBenchmarkScores() throws {
        try withTemporaryDirectory { scratch in
            let directory = scratch.appendingPathComponent("known-circuit").path
            let trained = try CLI.run(["train", "--recipe", "known-circuit", "--steps", "150", "--seed", "1", "--out", directory])
            #expect(trained.status == 0, "\(trained.standardError)")
            #expect(trained.standardOutput.contains("true circuit (4 of 75 edges)"), "\(trained.standardOutput)")
            for file in ["config.json", "model.safetensors", "task.json", "circuit.json"] {
                #expect(FileManager.default.fileExists(atPath: directory + "/" + file), "\(file)")
            }
            let result = try CLI.run(["methods-benchmark", "--model", directory, "--examples", "8", "--json"])
            #expect(result.status == 0, "\(result.standardError)")
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: String]])
            #expect(rows.count == 9)
            #expect(rows.first { $0["method"] == "exact" }?["auroc"] == "1.0000")
            #expect(!trained.standardError.contains("warning") && !result.standardError.contains("warning"),
                    "\(trained.standardError)\n\(result.standardError)")

            // Designated edges that do not carry the task (one other head's write) are not the model's circuit.
            let circuitURL = URL(fileURLWithPath: directory + "/circuit.json")
            var circuit = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: circuitURL)) as? [String: Any])
            var edges = try #require(circuit["edges"] as? [String: [String: Any]])
            for name in edges.keys { edges[name]?["in_graph"] = name == "a0.h1->logits" }
            circuit["edges"] = edges
            try JSONSerialization.data(withJSONObject: circuit).write(to: circuitURL)
            let misdesignated = try CLI.run(["methods-benchmark", "--model", directory, "--examples", "8"])
            #expect(misdesignated.status == 0, "\(misdesignated.standardError)")
            #expect(misdesignated.standardError.contains("circuit.json reach faithfulness")
                    && misdesignated.standardError.contains("not this model's circuit"), "\(misdesignated.standardError)")
        }
    }

    @Test func pruneSteersToATargetEdgeCount() throws {
        let task = EmbeddedModelPath.directory + "/task.json"
        let refused = try CLI.run(["prune", "--task", task, "--target-edges", "5", "--target-sparsity", "0.9"])
        #expect(refused.status != 0 && refused.standardError.contains("not both"), "\(refused.standardError)")
        let result = try CLI.run(["prune", "--task", task, "--limit", "2", "--steps", "20", "--target-sparsity", "0.95", "--sparsity", "0"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("for the target of"), "\(result.standardOutput)")
    }

    /// `--positions`: masks per positional edge, an exact target count, and the positional circuit JSON.
    @Test func prunesByPositionToAnExactTarget() throws {
        let task = EmbeddedModelPath.directory + "/task.json"
        try withTemporaryDirectory { scratch in
            let out = scratch.appendingPathComponent("positional.json")
            let result = try CLI.run(["prune", "--task", task, "--limit", "2", "--steps", "10", "--positions", "IO,S1,S2,END",
                                      "--target-edges", "7", "--out", out.path, "--json"])
            #expect(result.status == 0, "\(result.standardError)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
            #expect(summary["edges"] as? Int == 7, "\(result.standardOutput)")
            let text = String(decoding: try Data(contentsOf: out), as: UTF8.self)
            #expect(text.contains("\"positions\":[\"IO\",\"S1\",\"S2\",\"END\",\"other\"]") && text.contains("@END->logits@END"))
        }
    }
}

/// `interp acdc --checkpoint`: the finished run leaves its final state, and resuming from it gives the same circuit.
@Suite struct ACDCCheckpointCLITests {
    @Test func acdcResumesFromItsFinalCheckpoint() throws {
        try withTemporaryDirectory { directory in
            let task = EmbeddedModelPath.directory + "/task.json"
            let state = directory.appendingPathComponent("acdc.json").path
            let arguments = ["acdc", "--task", task, "--limit", "2", "--threshold", "0.05", "--checkpoint", state, "--json"]
            let first = try CLI.run(arguments)
            #expect(first.status == 0, "\(first.standardError)")
            let saved = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: state))) as? [String: Any])
            #expect(saved["receiver"] as? Int == -1, "the final state is saved")
            let resumed = try CLI.run(arguments + ["--resume"])
            #expect(resumed.status == 0, "\(resumed.standardError)")
            #expect(resumed.standardOutput == first.standardOutput)
        }
    }
}
