import Foundation
import Testing
import Interp

/// Task files a model cannot take are refused with errors naming the file, the example, the field and the token;
/// unusual ones it can take (a single example, duplicates, prompts of several lengths, Unicode with words the
/// tokenizer does not know) load. The model is the tiny Gemma fixture with its word-level tokenizer (unknown
/// words become `[UNK]`, context 64, vocabulary 256).
@Suite struct TaskFileModelTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("LanguageModelsTests/Fixtures")
    static let lm = try! LanguageModel.load(from: fixtures.appendingPathComponent("models/gemma"))

    static func pairs(_ json: String) throws -> PromptPairs {
        try TaskFile(json: Data(json.utf8), source: "t.json").promptPairs(for: lm, source: "t.json")
    }

    static func example(clean: String = "the dog and the fox", corrupted: String = "the fox and the dog",
                        answer: String = #"" dog""#, wrong: String = #"" fox""#) -> String {
        #"{"clean": "\#(clean)", "corrupted": "\#(corrupted)", "answer": \#(answer), "wrong": \#(wrong)}"#
    }

    @Test(arguments: [
        (example(answer: #"" zebra""#), #"t.json: example 0: 'answer' " zebra" encodes to the special token "[UNK]" (#0), not a token of its own (a word the tokenizer does not know?)"#),
        (example(wrong: #"" dog""#), #"t.json: example 0: 'answer' and 'wrong' are the same token "dog" (#44): their logit difference is always 0"#),
        (example(answer: #"" dog fox""#), #"t.json: example 0: 'answer' " dog fox" is 2 tokens ["dog", "fox"], not one"#),
        (example(answer: "[300]"), "t.json: example 0: 'answer': token id 300 is outside the model's vocabulary of 256"),
        (example(corrupted: "the fox and dog"),
         "t.json: example 0: the clean prompt has 7 tokens but the corrupted prompt has 6; they must tokenize to the same length"),
        (example(clean: String(repeating: "the ", count: 70)),
         "t.json: example 0: 'clean': the prompt has 72 tokens but the model's context is 64"),
    ]) func refusedExamplesNameTheFileExampleFieldAndToken(example: String, message: String) {
        #expect(throws: TaskFileError(message)) { try Self.pairs("[\(example), \(Self.example())]") }
    }

    @Test func unusualTasksTheModelCanTakeLoad() throws {
        #expect(try Self.pairs("[\(Self.example())]").count == 1)
        #expect(try Self.pairs("[\(Self.example()), \(Self.example()), \(Self.example())]").count == 3)
        let mixed = try Self.pairs("[\(Self.example()), \(Self.example(clean: "dog", corrupted: "fox")), "
                                   + "\(Self.example(clean: "Thé dög 🍕 was here", corrupted: "the fox 🍔 was here"))]")
        #expect(mixed.clean.mask.map { $0.filter { $0 }.count } == [7, 3, 7])
        // Words the tokenizer does not know become [UNK] in prompts, as the `tokenizers` library encodes them.
        #expect(mixed.clean.tokens[2] == [1, 0, 0, 0, 58, 48, 2])
        #expect(mixed.corrupted.tokens[2] == [1, 9, 47, 0, 58, 48, 2])
    }

    /// A SentencePiece-style tokenizer marks word starts itself, so `" Mary"` is `["▁", "▁Mary"]`; the error names
    /// the spelling that is one token. The reverse for a byte-level one, whose word tokens carry the space.
    @Test(arguments: [("llama2", " the", #"'answer' " the" is 2 tokens ["▁", "▁the"], not one; "the" is one token "▁the""#),
                      ("gpt2", "the", #"'answer' "the" is 2 tokens ["t", "he"], not one; " the" is one token "Ġthe""#)])
    func multiTokenAnswersNameTheOneTokenSpelling(tokenizer: String, answer: String, message: String) throws {
        let tokenizer = try loadTokenizer(from: Self.fixtures.appendingPathComponent("tokenizers/\(tokenizer)"))
        let file = TaskFile(task: "t", examples: [TaskExample(clean: .text("a"), corrupted: .text("b"), answer: .text(answer), wrong: .text(" a"))])
        #expect(throws: TaskFileError("example 0: " + message)) {
            try file.promptPairs(encodePrompt: { try tokenizer.encode($0, addSpecialTokens: true) },
                                 encodeAnswer: { try tokenizer.encode($0, addSpecialTokens: false) },
                                 tokenName: { tokenizer.idToToken($0) ?? "#\($0)" })
        }
    }
}
