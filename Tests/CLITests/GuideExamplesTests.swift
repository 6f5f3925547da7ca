import Foundation
import GuideExamples
import Interp
import LanguageModels
import Testing
import TestScratch

/// Every code block of the seed guide runs, in Swift, on the embedded model.
@Suite struct GuideExamplesTests {
    let clean = "Lisa and Sarah had a long argument at the school. Afterwards Sarah said to"
    let corrupted = "Lisa and Sarah had a long argument at the school. Afterwards Grace said to"

    @Test func everySeedGuideBlockRuns() throws {
        let model = try LanguageModel.load(from: URL(fileURLWithPath: EmbeddedModelPath.directory))
        let dla = try SeedGuide.directLogitAttribution(model, text: clean)
        #expect(dla[0].contains("Lisa"))
        #expect(try SeedGuide.residualStream(model, text: clean).count == model.model.layerCount + 1)
        #expect(try SeedGuide.pathPatching(model, clean: clean, corrupted: corrupted)[0].hasPrefix("Path effect"))
        _ = try SeedGuide.scanPaths(model, clean: clean, corrupted: corrupted)
        #expect(try SeedGuide.acdc(model, clean: clean, corrupted: corrupted)[0].hasPrefix("Circuit:"))
        #expect(try SeedGuide.workflow(model, clean: clean, corrupted: corrupted).count >= 5)
        #expect(try SeedGuide.attributionPatching(model, clean: clean, corrupted: corrupted).count == 1)
    }

    /// The README's and the core DocC comments' examples (compiled in `DocExamples`) run on the embedded model.
    @Test func everyDocExampleRuns() throws {
        let directory = URL(fileURLWithPath: EmbeddedModelPath.directory)
        let lm = try LanguageModel.load(from: directory)
        var task = try TaskFile(contentsOf: directory.appendingPathComponent("task.json"))
        task.examples = Array(task.examples.prefix(8))
        try withTemporaryDirectory { scratch in
            let taskURL = scratch.appendingPathComponent("doc-examples-task.json")
            try task.write(to: taskURL)
            #expect(try DocExamples.readme(lm, task: taskURL).count == 4)
            #expect(try Array(DocExamples.model(lm).dropFirst()) == ["blocks.0.attn.hook_z", "2", "true"])
            #expect(try DocExamples.hooks(lm, text: clean).count == 5)
            #expect(try DocExamples.trace(lm, text: clean).count == 2)
            #expect(try DocExamples.patching(lm, clean: clean, corrupted: corrupted).count == 5)
        }
    }
}
