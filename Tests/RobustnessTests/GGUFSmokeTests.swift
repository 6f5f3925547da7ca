import Foundation
import Testing
import Circuits

/// Mutations of the fuzz-gguf seeds (Fuzz/Corpus/fuzz-gguf: tiny models, every tensor and value type, truncated and
/// lying headers) through the GGUF reader, the configuration, the tokenizer and the model builder: each must load or
/// be refused with an error naming the file.
@Suite struct GGUFSmokeTests {
    @Test func ggufFiles() throws {
        var loadedModels = 0
        let outcome = try fuzz("fuzz-gguf", iterations: 800, fileName: "model.gguf") { url in
            let file = try GGUFFile(contentsOf: url)
            for name in file.tensorNames { _ = try file.tensor(named: name) }
            _ = file.quantizationMix.summary
            let lm = try LanguageModel.load(gguf: url)
            do { _ = lm.tokenizer.decode(try lm.tokenizer.encode("Hello, world! café 🤖 <s>")) } catch TokenizerError.unknownTokenMissing {}
            loadedModels += 1
        }
        outcome.expectBothOutcomes()
        #expect(loadedModels > 0, "no mutated seed loaded as a whole model")
    }
}
