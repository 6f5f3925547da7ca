import Foundation
import Testing
import TestScratch

/// A task whose corrupted prompts are its clean prompts: refused, naming the file and the examples, when every
/// example is so and the patching reads the corrupted run; a warning naming them when only some are; accepted with
/// an ablation that does not read the corrupted prompts.
@Suite struct IdenticalPromptsCLITests {
    /// The embedded model's first `count` examples, the corrupted prompt of those in `identical` set to the clean one.
    static func task(in directory: URL, count: Int = 4, identical: Set<Int>) throws -> String {
        let source = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: EmbeddedModelPath.directory + "/task.json"))) as! [String: Any]
        var examples = Array((source["examples"] as! [[String: Any]]).prefix(count))
        for i in identical { examples[i]["corrupted"] = examples[i]["clean"] }
        let url = directory.appendingPathComponent("task.json")
        try JSONSerialization.data(withJSONObject: ["task": "ioi", "examples": examples]).write(to: url)
        return url.path
    }

    @Test func everyExampleIdenticalIsRefusedByName() throws {
        try withTemporaryDirectory { directory in
            let task = try Self.task(in: directory, identical: [0, 1, 2, 3])
            for command in [["eap"], ["patch", "--component", "resid_pre"], ["demo", "--out", directory.appendingPathComponent("report").path]] {
                let result = try CLI.run(command + ["--task", task])
                #expect(result.status != 0, "\(command)")
                #expect(result.standardError.contains("\(task): the corrupted prompt of every example (examples 0, 1, 2, 3) is its clean prompt"),
                        "\(result.standardError)")
            }
            let zero = try CLI.run(["eap", "--task", task, "--ablation", "zero"])
            #expect(zero.status == 0, "\(zero.standardError)")
        }
    }

    @Test func someExamplesIdenticalGiveAWarning() throws {
        try withTemporaryDirectory { directory in
            let task = try Self.task(in: directory, identical: [2])
            let result = try CLI.run(["eap", "--task", task])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardError.contains("warning: \(task): the corrupted prompt of 1 of 4 examples (example 2) is its clean prompt"),
                    "\(result.standardError)")
        }
    }
}
