import Foundation
import Testing
import Circuits

/// A short, deterministic fuzz run over every parser of user files, in the normal test suite: thousands of
/// mutations of the libFuzzer seed corpora (Fuzz/Corpus) must each parse or throw an error whose message
/// names the file. A crash or hang fails the suite. Longer runs: scripts/fuzz.sh.
@Suite struct ParserSmokeTests {
    @Test func safetensorsFiles() throws {
        let outcome = try fuzz("fuzz-safetensors", fileName: "model.safetensors") { url in
            let file = try SafetensorsFile(contentsOf: url)
            for name in file.tensorNames {
                switch try file.info(named: name).dtype {
                case let dtype where dtype.isFloatingPoint: _ = try file.tensor(named: name)
                case .uint32: _ = try file.uint32Scalars(named: name)
                default: _ = try file.withUnsafeBytes(ofTensor: name) { $0.reduce(0, &+) }
                }
            }
        }
        outcome.expectBothOutcomes()
    }

    @Test func tokenizerFiles() throws {
        let outcome = try fuzz("fuzz-tokenizer-json", iterations: 1_500, mentioning: "tokenizer") { data in
            let parts = data.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
            let tokenizer = try HuggingFaceTokenizer(tokenizerJSON: Data(parts.first ?? Data()),
                                                     tokenizerConfigJSON: parts.count > 1 ? Data(parts[1]) : nil)
            do { _ = tokenizer.decode(try tokenizer.encode("Hello, world! café 🤖")) } catch TokenizerError.unknownTokenMissing {}
        }
        outcome.expectBothOutcomes()
    }

    @Test func encodingArbitraryText() throws {
        let tokenizers = try fixtureTokenizers()
        let outcome = try fuzz("fuzz-tokenizer-encode", mentioning: "") { data in
            guard let selector = data.first else { return }
            let tokenizer = tokenizers[Int(selector) % tokenizers.count]
            let ids = try tokenizer.encode(String(decoding: data.dropFirst(), as: UTF8.self))
            _ = tokenizer.decode(ids, skipSpecialTokens: true)
        }
        #expect(outcome.parsed > 0)
    }

    @Test func taskFiles() throws {
        for (source, jsonLines) in [("task.json", false), ("task.jsonl", true)] {
            let outcome = try fuzz("fuzz-task-file", mentioning: source) { data in
                _ = try TaskFile(json: data, source: source, jsonLines: jsonLines).jsonData()
            }
            outcome.expectBothOutcomes()
        }
    }

    @Test func circuitFiles() throws {
        let outcome = try fuzz("fuzz-circuit-file", fileName: "circuit.json") { url in
            let circuit = try Circuit.read(from: url)
            _ = circuit.summary() + circuit.dot()
            _ = try circuit.jsonData()
        }
        outcome.expectBothOutcomes()
    }
}
