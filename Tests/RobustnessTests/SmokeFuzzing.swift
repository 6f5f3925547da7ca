import Foundation
import Testing
import TestScratch
import LanguageModels

/// How many mutated inputs parsed and how many were refused with a proper error.
struct SmokeOutcome {
    var parsed = 0
    var refused = 0

    /// Checks that the mutations reached both sides of the parser, so the run tested something.
    func expectBothOutcomes(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(parsed > 0, "no mutated input parsed", sourceLocation: sourceLocation)
        #expect(refused > 0, "every mutated input parsed", sourceLocation: sourceLocation)
    }
}

/// The repository root, found from this file's location.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

/// The seed inputs of a fuzz target, from Fuzz/Corpus/<target>/.
func seeds(of target: String) throws -> [Data] {
    let directory = repositoryRoot.appendingPathComponent("Fuzz/Corpus/\(target)")
    return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        .map { try Data(contentsOf: directory.appendingPathComponent($0)) }
}

/// The tokenizers of Tests/LanguageModelsTests/Fixtures/tokenizers in directory order, as the
/// fuzz-tokenizer-encode seeds number them.
func fixtureTokenizers() throws -> [HuggingFaceTokenizer] {
    let directory = repositoryRoot.appendingPathComponent("Tests/LanguageModelsTests/Fixtures/tokenizers")
    return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        .map { try HuggingFaceTokenizer(directory: directory.appendingPathComponent($0)) }
}

/// Feeds `iterations` mutations of `target`'s seeds to `parse`; each must succeed or throw an error whose
/// message contains `subject`.
func fuzz(_ target: String, iterations: Int = 3_000, mentioning subject: String,
          sourceLocation: SourceLocation = #_sourceLocation, _ parse: (Data) throws -> Void) throws -> SmokeOutcome {
    var mutator = SeedMutator(seeds: try seeds(of: target), seed: 0x5EED)
    var outcome = SmokeOutcome()
    for _ in 0..<iterations {
        let input = mutator.next()
        do {
            try parse(input)
            outcome.parsed += 1
        } catch {
            outcome.refused += 1
            let message = "\(error)"
            guard !message.isEmpty, subject.isEmpty || message.contains(subject) else {
                Issue.record("\(type(of: error)) for input \(input.base64EncodedString()): '\(message)' does not name \(subject)",
                             sourceLocation: sourceLocation)
                break
            }
        }
    }
    return outcome
}

/// Like ``fuzz(_:iterations:mentioning:sourceLocation:_:)`` for parsers that read a file: each input is
/// written to `fileName` in a temporary directory, and errors must name that file's path.
func fuzz(_ target: String, iterations: Int = 3_000, fileName: String,
          sourceLocation: SourceLocation = #_sourceLocation, _ parse: (URL) throws -> Void) throws -> SmokeOutcome {
    try withTemporaryDirectory { directory in
        let url = directory.appendingPathComponent(fileName)
        return try fuzz(target, iterations: iterations, mentioning: url.path, sourceLocation: sourceLocation) { data in
            try data.write(to: url)
            try parse(url)
        }
    }
}
