import Foundation
import Testing
import Interp

/// Task generators and task files.
@Suite struct TaskTests {
    static let ioi = IOITask().generate(examples: 50, sentences: 200, seed: 1)
    static let induction = InductionTask().generate(examples: 50, sentences: 200, seed: 2)
    static let greaterThan = GreaterThanTask().generate(examples: 50, sentences: 200, seed: 3)
    static let all = [ioi, induction, greaterThan]
    static let vocabulary = WordLevelVocabulary(words: GeneratedTask.mixing(all).words)

    func word(_ text: TaskText) -> String {
        guard case .text(let string) = text else { return "" }
        return string.trimmingCharacters(in: .whitespaces)
    }

    @Test func generatorsAreDeterministic() {
        #expect(IOITask().generate(examples: 50, sentences: 200, seed: 1).taskFile == Self.ioi.taskFile)
        #expect(IOITask().generate(examples: 50, sentences: 200, seed: 1).corpus == Self.ioi.corpus)
        #expect(IOITask().generate(examples: 50, sentences: 200, seed: 9).corpus != Self.ioi.corpus)
        #expect(InductionTask().generate(examples: 50, sentences: 200, seed: 2).corpus == Self.induction.corpus)
    }

    @Test func everyWordIsInTheVocabularyAndPromptsPairUp() throws {
        for task in Self.all {
            for sentence in task.corpus {
                #expect(!Self.vocabulary.encode(sentence.text).contains(Self.vocabulary.unknownID), "\(sentence.text)")
            }
            let pairs = try task.taskFile.promptPairs(encodePrompt: { Self.vocabulary.encode($0) },
                                                      encodeAnswer: { Self.vocabulary.encode($0, addingBOS: false) })
            #expect(pairs.count == 50)
            for example in task.taskFile.examples {
                let clean = example.clean.tokens { Self.vocabulary.encode($0) }
                #expect(!clean.contains(Self.vocabulary.unknownID))
                #expect(example.positions?["END"] == clean.count - 1)
            }
        }
    }

    @Test func ioiLabelsPointAtTheNames() throws {
        for example in Self.ioi.taskFile.examples {
            let tokens = example.clean.tokens { Self.vocabulary.encode($0) }
            let corrupted = example.corrupted.tokens { Self.vocabulary.encode($0) }
            let p = example.positions!
            let (io, s) = (Self.vocabulary.id(of: word(example.answer))!, Self.vocabulary.id(of: word(example.wrong))!)
            #expect(tokens[p["IO"]!] == io && tokens[p["S1"]!] == s && tokens[p["S2"]!] == s && p["S1"]! < p["S2"]!)
            #expect(tokens.filter { $0 == io }.count == 1 && tokens.filter { $0 == s }.count == 2)
            // Only S2 changes, to a third name.
            let changed = tokens.indices.filter { tokens[$0] != corrupted[$0] }
            #expect(changed == [p["S2"]!] && corrupted[p["S2"]!] != io)
        }
        #expect(Set(Self.ioi.taskFile.examples.map { $0.positions!["IO"]! < $0.positions!["S1"]! }) == [true, false], "both name orders")
    }

    @Test func inductionAndGreaterThanAnswersFollowTheirRules() {
        for example in Self.induction.taskFile.examples {
            let clean = WordLevelVocabulary.words(in: { if case .text(let t) = example.clean { return t }; return "" }())
            let p = example.positions!
            #expect(clean[p["CURRENT_FIRST"]! - 1] == clean.last && clean[p["ANSWER_FIRST"]! - 1] == word(example.answer))
            #expect(word(example.answer) != word(example.wrong))
        }
        for example in Self.greaterThan.taskFile.examples {
            guard case .text(let clean) = example.clean, case .text(let corrupted) = example.corrupted else { continue }
            let start = Int(WordLevelVocabulary.words(in: clean)[example.positions!["YEAR"]! - 1])! % 100
            #expect(Int(word(example.answer))! > start && Int(word(example.wrong))! < start)
            #expect(corrupted.contains("1701") && clean.hasSuffix(" 17"))
        }
    }

    @Test func heldOutExamplesAreNotInTheCorpus() {
        for task in Self.all {
            let prompts = Set(task.taskFile.examples.compactMap { if case .text(let t) = $0.clean { return t }; return nil })
            #expect(!task.corpus.contains { prompts.contains($0.prompt) })
        }
    }

    @Test func taskFilesRoundTripInEveryLayout() throws {
        let file = Self.ioi.taskFile
        #expect(try TaskFile(json: file.jsonData()) == file)
        let lines = file.examples.map { String(decoding: try! JSONEncoder().encode($0), as: UTF8.self) }.joined(separator: "\n")
        #expect(try TaskFile(json: Data(lines.utf8), jsonLines: true).examples == file.examples)
        let ids = #"[{"clean": [2, 5, 6], "corrupted": [2, 7, 6], "answer": [9], "wrong": [8]}]"#
        #expect(try TaskFile(json: Data(ids.utf8)).examples[0].answer == .tokens([9]))
    }

    @Test(arguments: [
        (#"{"examples": [{"clean": "a", "corrupted": "b", "answer": " c", "wrong": " d"}, {"clean": "a", "corrupted": "b", "answer": " c"}]}"#,
         "t.json: example 1: field 'wrong' is missing"),
        (#"{"examples": [{"clean": "a", "corrupted": "b", "answer": 3, "wrong": " d"}]}"#,
         "t.json: example 0: field 'answer' must be a non-empty string or an array of non-negative token ids"),
        (#"{"examples": [{"clean": "a", "corrupted": "b", "answer": " c", "wrong": " d", "positions": {"IO": -1}}]}"#,
         "t.json: example 0: field 'positions' holds -1, not a non-negative integer"),
        (#"{"task": "x"}"#, "t.json: field 'examples' is missing or not an array"),
        (#"[1, "#, "t.json: not valid JSON"),
        (#"[]"#, "t.json: no examples"),
    ]) func malformedTaskFilesNameTheFileAndExample(json: String, message: String) {
        #expect(throws: TaskFileError(message)) { try TaskFile(json: Data(json.utf8), source: "t.json") }
    }

    /// Windows line endings: Swift reads "\r\n" as one Character, which a split on "\n" alone does not cut.
    @Test func jsonLinesWithWindowsLineEndingsRead() throws {
        let example = #"{"clean": "a", "corrupted": "b", "answer": " c", "wrong": " d"}"#
        let file = try TaskFile(json: Data((example + "\r\n\r\n" + example + "\r\n").utf8), source: "t.jsonl", jsonLines: true)
        #expect(file.examples.count == 2 && file.examples[1].wrong == .text(" d"))
        #expect(throws: TaskFileError("t.jsonl: line 3 (example 1): field 'corrupted' is missing")) {
            try TaskFile(json: Data((example + "\r\n\r\n" + #"{"clean": "a"}"#).utf8), source: "t.jsonl", jsonLines: true)
        }
    }

    @Test func jsonLinesErrorsNameTheLine() throws {
        let text = #"{"clean": "a", "corrupted": "b", "answer": " c", "wrong": " d"}"# + "\n\n" + #"{"clean": "a"}"#
        #expect(throws: TaskFileError("t.jsonl: line 3 (example 1): field 'corrupted' is missing")) {
            try TaskFile(json: Data(text.utf8), source: "t.jsonl", jsonLines: true)
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("missing-\(UUID().uuidString).json")
        #expect(throws: TaskFileError.self) { try TaskFile(contentsOf: url) }
    }

    /// A pipe (`--task <(jq …)`, `/dev/stdin`): Foundation's `Data(contentsOf:)` refused it with "Permission denied".
    @Test func taskFileReadsFromAPipe() throws {
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("task-\(UUID().uuidString).json")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        defer { try? FileManager.default.removeItem(at: fifo) }
        let text = #"{"task": "t", "examples": [{"clean": "a", "corrupted": "b", "answer": " c", "wrong": " d"}]}"#
        let writer = Thread {
            guard let handle = FileHandle(forWritingAtPath: fifo.path) else { return }
            handle.write(Data(text.utf8))
            try? handle.close()
        }
        writer.start()
        let file = try TaskFile(contentsOf: fifo)
        #expect(file.task == "t" && file.examples.count == 1 && file.examples[0].wrong == .text(" d"))
    }

    @Test func multiTokenAnswersAreRefused() {
        let file = TaskFile(task: "t", examples: [TaskExample(clean: .text("Mary"), corrupted: .text("John"), answer: .text(" Mary John"), wrong: .text(" John"))])
        let ids = Self.vocabulary.encode(" Mary John", addingBOS: false)
        #expect(throws: TaskFileError("example 0: 'answer' \" Mary John\" is 2 tokens [\"#\(ids[0])\", \"#\(ids[1])\"], not one")) {
            try file.promptPairs(encodePrompt: { Self.vocabulary.encode($0) }, encodeAnswer: { Self.vocabulary.encode($0, addingBOS: false) })
        }
    }
}
