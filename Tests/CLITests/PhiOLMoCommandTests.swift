import Foundation
import Testing
import TestScratch

/// `interp eap` and `interp demo` run unchanged on Phi and OLMo checkpoints (the tiny fixtures): the circuit code
/// needs nothing family-specific.
@Suite struct PhiOLMoCommandTests {
    static func model(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models/\(name)").path
    }

    /// Prompt pairs in the fixtures' word-level vocabulary.
    static func task(in directory: URL) throws -> String {
        let url = directory.appendingPathComponent("task.json")
        try Data(#"""
        [{"clean": "the dog and the fox was here", "corrupted": "the fox and the dog was here", "answer": " dog", "wrong": " fox"},
         {"clean": "hello world and the dog was there", "corrupted": "hello text and the fox was there", "answer": " world", "wrong": " text"},
         {"clean": "we split the text into tokens", "corrupted": "they split the word into tokens", "answer": " text", "wrong": " word"}]
        """#.utf8).write(to: url)
        return url.path
    }

    @Test(arguments: ["phi_qk", "olmo_clip"]) func eapAndDemoRun(name: String) throws {
        try withTemporaryDirectory { directory in
            let task = try Self.task(in: directory)
            let eap = try CLI.run(["eap", "--model", Self.model(name), "--task", task])
            #expect(eap.status == 0, "\(eap.standardError)")
            #expect(eap.standardOutput.contains("faithfulness"))
            let out = directory.appendingPathComponent("report").path
            let demo = try CLI.run(["demo", "--model", Self.model(name), "--task", task, "--out", out])
            #expect(demo.status == 0, "\(demo.standardError)")
            #expect(FileManager.default.fileExists(atPath: out + "/index.html"))
        }
    }
}
