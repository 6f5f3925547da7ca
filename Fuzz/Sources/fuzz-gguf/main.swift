// Fuzzes GGUFFile: the input is a whole .gguf file; every tensor it declares is dequantized, then the model, its
// configuration and its tokenizer are built from it (each step may refuse the file, with an error naming it).
import Foundation
import FuzzSupport
import LanguageModels

runFuzzer { data in
    let url = scratchFile(data, named: "model.gguf")
    expectCleanFailure(mentioning: url.path) {
        let file = try GGUFFile(contentsOf: url)
        for name in file.tensorNames { _ = try file.tensor(named: name) }
        _ = file.quantizationMix.summary
        do {
            let tokenizer = try GGUFTokenizer.tokenizer(from: file)
            _ = tokenizer.decode(try tokenizer.encode("Hello, world! café 🤖 <s>"))
        } catch TokenizerError.unknownTokenMissing {}
        _ = try LanguageModel.load(gguf: url)
    }
}
