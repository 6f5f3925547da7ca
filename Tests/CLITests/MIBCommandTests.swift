import Foundation
import Testing
import TestScratch

/// `interp evaluate --mib` on the embedded model: EAP scores written by `interp eap`, evaluated at MIB's fractions.
@Suite struct MIBCommandTests {
    @Test func evaluatePrintsTheMIBTable() throws {
        try withTemporaryDirectory { directory in
            let task = EmbeddedModelPath.directory + "/task.json"
            let scores = directory.appendingPathComponent("scores.json").path
            let eap = try CLI.run(["eap", "--task", task, "--limit", "6", "--out", scores])
            #expect(eap.status == 0, "\(eap.standardError)")
            let file = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scores))) as! [String: Any]
            #expect((file["cfg"] as? [String: Any])?["d_model"] as? Int == 128, "the EAP file is also in EAP-IG's layout")

            let json = try CLI.run(["evaluate", "--task", task, "--limit", "6", "--circuit", scores, "--mib", "--json",
                                    "--true-circuit", scores])
            #expect(json.status == 0, "\(json.standardError)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
            let evaluation = try #require(report["evaluation"] as? [String: Any])
            let curves = try #require(evaluation["curves"] as? [[String: Any]])
            #expect(curves.map { $0["ranking"] as? String } == ["absolute", "signed"])
            for curve in curves {
                let points = try #require(curve["points"] as? [[String: Any]])
                #expect(points.map { ($0["fraction"] as! NSNumber).doubleValue } == [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1])
                #expect(Swift.abs((points.last!["faithfulness"] as! NSNumber).doubleValue - 1) < 1e-3)
            }
            #expect(report["cpr"] is NSNumber && report["cmd"] is NSNumber && report["ablation"] as? String == "counterfactual")
            // The truth is the scores' own pruned top-100 circuit: ranked high, though pruning drops some top edges.
            let auroc = try #require((report["auroc"] as? NSNumber)?.doubleValue)
            #expect(auroc > 0.5 && auroc <= 1)
            let mibAUROC = try #require((report["mibAUROC"] as? NSNumber)?.doubleValue)
            #expect(mibAUROC > 0.5 && mibAUROC <= 1)

            let text = try CLI.run(["evaluate", "--task", task, "--limit", "6", "--circuit", scores, "--mib", "--ablation", "mean-positional",
                                    "--ranking", "signed", "--negate-scores"])
            #expect(text.status == 0, "\(text.standardError)")
            #expect(text.standardOutput.contains("ablation mean-positional") && text.standardOutput.contains("CPR")
                    && text.standardOutput.contains("0.001") && !text.standardOutput.contains("absolute"))
        }
    }

    @Test func unscoredCircuitIsRefusedByName() throws {
        try withTemporaryDirectory { directory in
            let task = EmbeddedModelPath.directory + "/task.json"
            let circuit = directory.appendingPathComponent("acdc.json").path
            #expect(try CLI.run(["acdc", "--task", task, "--limit", "3", "--threshold", "0.5", "--out", circuit]).status == 0)
            let result = try CLI.run(["evaluate", "--task", task, "--limit", "3", "--circuit", circuit, "--mib"])
            #expect(result.status != 0 && result.standardError.contains(circuit) && result.standardError.contains("no score"))
        }
    }
}
