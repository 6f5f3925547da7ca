// Fuzzes HuggingFaceTokenizer(tokenizerJSON:tokenizerConfigJSON:): the input is tokenizer.json, optionally
// followed by a NUL byte and tokenizer_config.json; a tokenizer that loads encodes and decodes a few texts.
import Foundation
import FuzzSupport
import LanguageModels

let texts = ["Hello world", "  two  spaces\n\ttab", "naïve café 日本語 🤖", "<s></s><|endoftext|><unk>", ""]

runFuzzer { data in
    let parts = data.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
    var loaded: HuggingFaceTokenizer?
    expectCleanFailure(mentioning: "tokenizer") {
        loaded = try HuggingFaceTokenizer(tokenizerJSON: Data(parts.first ?? Data()),
                                          tokenizerConfigJSON: parts.count > 1 ? Data(parts[1]) : nil)
    }
    guard let tokenizer = loaded else { return }
    expectCleanFailure {
        for text in texts {
            let ids = try tokenizer.encode(text)
            _ = tokenizer.decode(ids, skipSpecialTokens: true)
            _ = ids.map(tokenizer.idToToken)
        }
    }
}
