import Foundation
import Testing
import TestScratch

/// The main job on the embedded model: its claims are checked from the model's own measurements.
@Suite struct DemoTests {
    struct Role: Decodable { let head: String; let role: String; let directLogitAttribution: Float; let attentionToLabels: [String: Float] }
    struct Summary: Decodable {
        let accuracy: Float, acdcEdges: Int, acdcFaithfulness: Float, eapEdges: Int, eapFaithfulness: Float, totalEdges: Int
        let roles: [Role], report: String
    }

    @Test func demoFindsAFaithfulSmallCircuitWithTheTasksRoles() throws {
        try withTemporaryDirectory { directory in
            let result = try CLI.run(["demo", "--json", "--out", directory.path])
            #expect(result.status == 0, "\(result.standardError)")
            let summary = try JSONDecoder().decode(Summary.self, from: Data(result.standardOutput.utf8))
            #expect(summary.accuracy >= 0.95)
            #expect(summary.acdcFaithfulness >= 0.8)
            #expect(Float(summary.acdcEdges) <= 0.1 * Float(summary.totalEdges))
            #expect(summary.eapFaithfulness >= 0.8 && summary.eapEdges < summary.totalEdges)
            // IOI implies a head that attends from the answer position to the indirect object and raises it.
            #expect(summary.roles.contains { ($0.attentionToLabels["IO"] ?? 0) >= 0.3 && $0.directLogitAttribution > 0 && $0.role.hasPrefix("mover") })
            let html = try String(contentsOfFile: summary.report, encoding: .utf8)
            #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("</html>"))
            // Self-contained: nothing is fetched (the SVG namespace URI is an identifier, not a request).
            for fetch in ["src=\"http", "href=\"http", "url(http", "<link", "<script src", "@import"] { #expect(!html.contains(fetch), "\(fetch)") }
            for file in ["acdc-circuit.json", "eap-ig-circuit.json"] {
                #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path))
            }
        }
    }

    /// The ACDC line says plainly whether its circuit reaches the faithfulness target: on the embedded model it does
    /// at the default τ; at a τ that removes every edge (faithfulness 0) it does not, and the line says how to lower τ.
    @Test func acdcLineSaysWhetherItReachesTheTarget() throws {
        try withTemporaryDirectory { directory in
            let reached = try CLI.run(["demo", "--out", directory.path])
            #expect(reached.status == 0, "\(reached.standardError)")
            let acdcLine = { (output: String) in output.split(separator: "\n").first { $0.hasPrefix("ACDC") }.map(String.init) ?? "" }
            #expect(acdcLine(reached.standardOutput).contains("reaches the 0.8 target"), "\(reached.standardOutput)")
            let missed = try CLI.run(["demo", "--threshold", "1000", "--out", directory.path])
            #expect(missed.status == 0, "\(missed.standardError)")
            #expect(acdcLine(missed.standardOutput).contains("0 of "), "\(missed.standardOutput)")
            #expect(acdcLine(missed.standardOutput).contains("below the 0.8 target at this τ"), "\(missed.standardOutput)")
        }
    }

    /// `--timings` lists every study step, then the report and the total, on standard error, each with its CPU time.
    @Test func timingsNameEveryStep() throws {
        try withTemporaryDirectory { directory in
            let result = try CLI.run(["demo", "--timings", "--threads", "1", "--out", directory.path])
            #expect(result.status == 0, "\(result.standardError)")
            let lines = result.standardError.split(separator: "\n").map(String.init)
            for step in ["loading the model and task", "predictions", "activation patching", "ACDC", "EAP-IG", "faithfulness",
                         "path patching and head roles", "writing the report", "total"] {
                #expect(lines.contains { $0.hasPrefix("  \(step) ") && $0.contains(" s  (CPU ") }, "\(step) missing from \(lines)")
            }
        }
    }

    @Test func zeroThreadsAreRefused() throws {
        let result = try CLI.run(["demo", "--threads", "0"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("--threads must be at least 1"), "\(result.standardError)")
    }

    @Test func malformedTaskFileNamesTheExampleAndField() throws {
        try withTemporaryDirectory { directory in
            let task = directory.appendingPathComponent("task.json")
            try Data(#"[{"clean": "a", "corrupted": "b", "answer": "c", "wrong": "d"}, {"clean": "a"}]"#.utf8).write(to: task)
            let result = try CLI.run(["patch", "--task", task.path])
            #expect(result.status != 0)
            #expect(result.standardError.contains("example 1") && result.standardError.contains("corrupted"), "\(result.standardError)")
        }
    }

    @Test func multiTokenAnswerIsRefused() throws {
        let result = try CLI.run(["patch", "--clean", "Mary and John went home . John said to", "--corrupted",
                                  "Mary and John went home . Anna said to", "--answer", " Mary John", "--wrong", " John"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("answer") && result.standardError.contains("2 tokens"), "\(result.standardError)")
    }

    @Test func differentTokenLengthsAreRefused() throws {
        let result = try CLI.run(["patch", "--clean", "Mary and John went home . John said to", "--corrupted",
                                  "Mary and John went . Anna said to", "--answer", " Mary", "--wrong", " John"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("same length"), "\(result.standardError)")
    }

    @Test func unwritableOutputPathIsAClearError() throws {
        let result = try CLI.run(["dla", "--prompt", "Mary and John went home . John said to", "--html", "/proc/interp/report.html"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("/proc/interp/report.html"), "\(result.standardError)")
    }

    @Test func unknownHookNameSuggestsNeighbours() throws {
        let result = try CLI.run(["trace", "--prompt", "Mary and John", "--hook", "blocks.0.attn.hook_zz"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("blocks.0.attn.hook_z"), "\(result.standardError)")
    }

    @Test func emptyAndOverlongPromptsAreRefused() throws {
        let empty = try CLI.run(["run", "--prompt", "", "--model", EmbeddedModelPath.directory])
        #expect(empty.status != 0)
        let long = Array(repeating: "Mary", count: 40).joined(separator: " ")
        let result = try CLI.run(["run", "--prompt", long])
        #expect(result.status != 0 && result.standardError.contains("context"), "\(result.standardError)")
    }
}
