import Foundation
import Testing
import TestScratch

/// `--positions` on `eap`, `acdc`, `evaluate` and `graph` with the embedded model's task file.
@Suite struct PositionalCircuitCLITests {
    @Test func positionAwareEAPACDCEvaluateAndGraph() throws {
        try withTemporaryDirectory { directory in
            let task = EmbeddedModelPath.directory + "/task.json"
            let eapFile = directory.appendingPathComponent("eap.json").path, acdcFile = directory.appendingPathComponent("acdc.json").path
            let eap = try CLI.run(["eap", "--task", task, "--limit", "6", "--positions", "IO,S1,S2,END", "--top-n", "20", "--out", eapFile, "--json"])
            #expect(eap.status == 0, "\(eap.standardError)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(eap.standardOutput.utf8)) as? [String: Any])
            let plain = try CLI.run(["eap", "--task", task, "--limit", "6", "--top-n", "20", "--json"])
            let plainSummary = try #require(try JSONSerialization.jsonObject(with: Data(plain.standardOutput.utf8)) as? [String: Any])
            #expect(summary["totalEdges"] as? Int == 5 * (plainSummary["totalEdges"] as? Int ?? 0))
            let top = try #require(summary["topEdges"] as? [String])
            #expect(top.allSatisfy { $0.contains("@") })
            let file = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: eapFile))) as? [String: Any])
            #expect((file["graph"] as? [String: Any])?["positions"] as? [String] == ["IO", "S1", "S2", "END", "other"] && file["cfg"] == nil)

            let acdc = try CLI.run(["acdc", "--task", task, "--limit", "6", "--threshold", "0.02", "--positions", "IO,S1,S2,END", "--out", acdcFile])
            #expect(acdc.status == 0 && acdc.standardOutput.contains("@END->logits@END"), "\(acdc.standardError)")
            let evaluate = try CLI.run(["evaluate", "--task", task, "--limit", "6", "--circuit", acdcFile, "--metric", "kl"])
            #expect(evaluate.status == 0 && evaluate.standardOutput.contains("faithfulness"), "\(evaluate.standardError)")
            let mismatch = try CLI.run(["evaluate", "--task", task, "--limit", "6", "--circuit", acdcFile, "--positions", "IO,END"])
            #expect(mismatch.status != 0 && mismatch.standardError.contains("positions"), "\(mismatch.standardError)")
            let unknown = try CLI.run(["eap", "--task", task, "--limit", "6", "--positions", "IO,XYZ"])
            #expect(unknown.status != 0 && unknown.standardError.contains("XYZ"), "\(unknown.standardError)")
            let html = directory.appendingPathComponent("view.html").path
            let graph = try CLI.run(["graph", "--circuit", acdcFile, "--html", html])
            #expect(graph.status == 0, "\(graph.standardError)")
            #expect(try String(contentsOfFile: html, encoding: .utf8).contains("Position END"))
        }
    }
}
