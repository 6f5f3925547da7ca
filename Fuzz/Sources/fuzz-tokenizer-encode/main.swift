// Fuzzes encode and decode of the fixture tokenizers: the first byte picks a tokenizer, the rest is the text
// (invalid UTF-8 is replaced) and, read as 16-bit words, ids to decode.
import Foundation
import FuzzSupport
import LanguageModels

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../../Tests/LanguageModelsTests/Fixtures/tokenizers").standardized
let tokenizers = try! FileManager.default.contentsOfDirectory(atPath: fixtures.path).sorted()
    .map { try HuggingFaceTokenizer(directory: fixtures.appendingPathComponent($0)) }

runFuzzer { data in
    guard let selector = data.first else { return }
    let tokenizer = tokenizers[Int(selector) % tokenizers.count]
    let text = String(decoding: data.dropFirst(), as: UTF8.self)
    expectCleanFailure {
        for addSpecialTokens in [false, true] {
            let ids = try tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
            _ = tokenizer.decode(ids, skipSpecialTokens: addSpecialTokens)
        }
    }
    let words = stride(from: 1, to: data.count - 1, by: 2).map { Int(Int16(bitPattern: UInt16(data[$0]) << 8 | UInt16(data[$0 + 1]))) }
    _ = tokenizer.decode(words, skipSpecialTokens: false)
}
