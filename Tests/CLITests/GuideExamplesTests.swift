import Foundation
import GuideExamples
import LanguageModels
import Testing

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
}
