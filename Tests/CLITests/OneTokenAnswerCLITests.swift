import Foundation
import Testing

/// An answer given on the command line that is several tokens is explained as in task files: its pieces and the
/// spelling that is one token (the Qwen2 GGUF fixture's byte-level vocabulary encodes `"the"` as `["t", "he"]` and
/// `" the"` as one token).
@Suite struct OneTokenAnswerCLITests {
    static let model = URL(fileURLWithPath: ComputeOptionTests.halfPrecisionGGUF).deletingLastPathComponent()
        .appendingPathComponent("qwen2.gguf").path
    static let explanation = #""the" is 2 tokens ["t", "he"], not one; " the" is one token "Ġthe""#

    @Test func dlaAnswerNamesTheOneTokenSpelling() throws {
        let result = try CLI.run(["dla", "--model", Self.model, "--prompt", "the cat", "--answer", "the", "--wrong", " cat"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("--answer: " + Self.explanation), "\(result.standardError)")
    }

    @Test func inlinePairAnswerNamesTheOneTokenSpelling() throws {
        let result = try CLI.run(["patch", "--model", Self.model, "--clean", "the cat", "--corrupted", "the dog",
                                  "--answer", "the", "--wrong", " cat", "--component", "resid_pre"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("'answer' " + Self.explanation), "\(result.standardError)")
    }
}
