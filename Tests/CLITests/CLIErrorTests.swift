import Foundation
import Testing
import TestScratch

/// User mistakes give a clear message naming what is wrong, a non-zero exit, no stack trace, and no output file.
@Suite struct CLIErrorTests {
    func expectFailure(_ arguments: [String], mentions fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try CLI.run(arguments)
        #expect(result.status != 0, "exit status", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(result.standardError.contains(fragment), "stderr lacks '\(fragment)': \(result.standardError)", sourceLocation: sourceLocation)
        }
        #expect(!result.standardError.contains("Fatal error") && !result.standardError.contains("Stack dump"),
                sourceLocation: sourceLocation)
    }

    @Test func versionAndHelpAnswer() throws {
        #expect(try CLI.run(["--version"]).standardOutput.contains("0.1"))
        let help = try CLI.run(["--help"]).standardOutput
        for command in ["info", "run", "trace", "dla", "patch", "acdc", "eap", "demo", "bench"] { #expect(help.contains(command)) }
    }

    @Test func missingModelDirectory() throws {
        try expectFailure(["info", "--model", "/nonexistent/model"], mentions: ["/nonexistent/model", "no such model directory"])
    }

    @Test func modelOverTheMemoryBudgetIsRefused() throws {
        try expectFailure(["run", "--prompt", "Alice", "--memory-limit", "0.001"], mentions: ["--memory-limit 0.001 GB", "GB in memory"])
        #expect(try CLI.run(["run", "--prompt", "Alice", "--memory-limit", "1"]).status == 0)
    }

    @Test func modelDirectoryWithoutConfig() throws {
        try withTemporaryDirectory { directory in
            try expectFailure(["info", "--model", directory.path], mentions: ["config.json"])
        }
    }

    @Test func malformedCircuitFile() throws {
        try withTemporaryDirectory { directory in
            let circuit = directory.appendingPathComponent("circuit.json")
            try Data("{\"nodes\": 1}".utf8).write(to: circuit)
            let html = directory.appendingPathComponent("out.html")
            try expectFailure(["graph", "--circuit", circuit.path, "--html", html.path], mentions: [circuit.path])
            #expect(!FileManager.default.fileExists(atPath: html.path))
        }
    }

    @Test func overlongTaskExampleIsNamed() throws {
        // Example 1 is longer than the embedded model's 32-position context; example 0 fits.
        let short = "Lisa and Sarah had a long argument at the school. Afterwards Sarah said to"
        let long = Array(repeating: "Lisa and Sarah had a long argument at the school.", count: 4).joined(separator: " ") + " Afterwards Sarah said to"
        let examples = [(short, short.replacingOccurrences(of: "Afterwards Sarah", with: "Afterwards Laura")),
                        (long, long.replacingOccurrences(of: "Afterwards Sarah", with: "Afterwards Laura"))]
            .map { ["clean": $0.0, "corrupted": $0.1, "answer": " Lisa", "wrong": " Sarah"] }
        try withTemporaryDirectory { scratch in
            let task = scratch.appendingPathComponent("task.json")
            try JSONSerialization.data(withJSONObject: examples).write(to: task)
            try expectFailure(["patch", "--task", task.path, "--component", "resid_pre"],
                              mentions: ["example 1: 'clean'", "context is 32"])
        }
    }

    @Test func negativeThresholdIsRefused() throws {
        try expectFailure(["acdc", "--clean", "a", "--corrupted", "b", "--answer", "c", "--wrong", "d", "--threshold", "-1"],
                          mentions: ["--threshold"])
    }

    @Test func incompletePromptPairIsRefused() throws {
        try expectFailure(["patch", "--clean", "a b c"], mentions: ["--corrupted"])
    }
}
