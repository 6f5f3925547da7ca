import Foundation
import LanguageModels

/// A task for the causal methods: examples of clean and corrupted prompts with the answer and a wrong answer.
///
/// On disk it is JSON, either an object `{"task": "ioi", "examples": [...]}` (the layout ``jsonData()``
/// writes), a bare array of examples, or JSONL (one example object per line):
///
/// ```json
/// {"task": "ioi", "positionUnit": "...", "examples": [
///   {"clean": "When Mary and John went to the store, John gave a drink to",
///    "corrupted": "When Mary and John went to the store, Kate gave a drink to",
///    "answer": " Mary", "wrong": " John", "positions": {"IO": 2, "S1": 4, "S2": 11, "END": 16}}]}
/// ```
///
/// Texts may also be token id arrays (`"answer": [42]`).
public struct TaskFile: Codable, Equatable, Sendable {
    /// The task's name, e.g. `ioi`, `induction`, `greater-than`.
    public var task: String
    /// What the task measures and how answers were chosen.
    public var description: String?
    /// What the numbers in ``TaskExample/positions`` count.
    public var positionUnit: String?
    public var examples: [TaskExample]

    public init(task: String, description: String? = nil, positionUnit: String? = nil, examples: [TaskExample]) {
        self.task = task; self.description = description; self.positionUnit = positionUnit; self.examples = examples
    }

    /// Reads a task file (`.json` or `.jsonl`).
    ///
    /// - Throws: ``TaskFileError`` naming the file and, for a malformed example, its index (and line, in JSONL)
    ///   and field, e.g. `tasks.json: example 3: field 'wrong' is missing`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOfFileOrStream: url)
        } catch {
            throw TaskFileError("\(url.path): cannot read: \(error.localizedDescription)")
        }
        try self.init(json: data, source: url.path, jsonLines: url.pathExtension.lowercased() == "jsonl")
    }

    /// Decodes a task file's bytes; `source` names it in errors.
    public init(json data: Data, source: String = "task file", jsonLines: Bool = false) throws {
        func failure(_ message: String) -> TaskFileError { TaskFileError("\(source): \(message)") }
        if jsonLines {
            var examples: [TaskExample] = []
            // "\r\n" is one Character in Swift: split on it too, or a file saved with Windows line endings is one line.
            let lines = String(decoding: data, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            for (line, text) in lines.enumerated()
            where !text.trimmingCharacters(in: .whitespaces).isEmpty {
                let object: Any
                do { object = try JSONSerialization.jsonObject(with: Data(text.utf8)) } catch {
                    throw failure("line \(line + 1) (example \(examples.count)): not valid JSON")
                }
                examples.append(try TaskExample(object, failure: { failure("line \(line + 1) (example \(examples.count)): \($0)") }))
            }
            guard !examples.isEmpty else { throw failure("no examples") }
            self.init(task: "task", examples: examples)
            return
        }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch { throw failure("not valid JSON") }
        let items: [Any]
        if let array = root as? [Any] {
            items = array
            self.init(task: "task", examples: [])
        } else if let object = root as? [String: Any] {
            guard let array = object["examples"] as? [Any] else { throw failure("field 'examples' is missing or not an array") }
            items = array
            func string(_ key: String) throws -> String? {
                guard let value = object[key], !(value is NSNull) else { return nil }
                guard let text = value as? String else { throw failure("field '\(key)' is not a string") }
                return text
            }
            self.init(task: try string("task") ?? "task", description: try string("description"),
                      positionUnit: try string("positionUnit"), examples: [])
        } else {
            throw failure("expected an object with 'examples' or an array of examples")
        }
        guard !items.isEmpty else { throw failure("no examples") }
        examples = try items.enumerated().map { index, item in
            try TaskExample(item, failure: { failure("example \(index): \($0)") })
        }
    }

    /// The file as pretty-printed JSON with sorted keys.
    public func jsonData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Strings, integers and dictionaries of them always encode.
        return try! encoder.encode(self)
    }

    /// Writes ``jsonData()`` atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(jsonData(), to: url)
    }
}

/// One example: clean and corrupted prompts (equal token length), the answer and the wrong answer.
public struct TaskExample: Codable, Equatable, Sendable {
    public var clean: TaskText
    public var corrupted: TaskText
    /// The expected next token after the clean prompt (with its leading space, as a tokenizer would see it).
    public var answer: TaskText
    /// The competing token (the expected answer of the corrupted prompt, or a plausible wrong one).
    public var wrong: TaskText
    /// Named positions of the clean prompt (e.g. `IO`, `S1`, `S2`, `END`), in the unit of ``TaskFile/positionUnit``.
    public var positions: [String: Int]?

    public init(clean: TaskText, corrupted: TaskText, answer: TaskText, wrong: TaskText, positions: [String: Int]? = nil) {
        self.clean = clean; self.corrupted = corrupted; self.answer = answer; self.wrong = wrong; self.positions = positions
    }

    /// Decodes and checks one example object; `failure` prefixes messages with the example's location.
    init(_ item: Any, failure: (String) -> TaskFileError) throws {
        guard let object = item as? [String: Any] else { throw failure("not a JSON object") }
        func text(_ key: String) throws -> TaskText {
            guard let value = object[key], !(value is NSNull) else { throw failure("field '\(key)' is missing") }
            if let string = value as? String {
                guard !string.isEmpty else { throw failure("field '\(key)' is empty") }
                return .text(string)
            }
            if let numbers = value as? [Any], !numbers.isEmpty,
               let ids = numbers.map({ ($0 as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }) as? [Int],
               ids.allSatisfy({ $0 >= 0 }) {
                return .tokens(ids)
            }
            throw failure("field '\(key)' must be a non-empty string or an array of non-negative token ids")
        }
        var positions: [String: Int]?
        if let value = object["positions"], !(value is NSNull) {
            guard let labels = value as? [String: Any] else { throw failure("field 'positions' is not an object") }
            positions = try labels.mapValues { number in
                guard let n = (number as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }), n >= 0 else {
                    throw failure("field 'positions' holds \(number), not a non-negative integer")
                }
                return n
            }
        }
        self.init(clean: try text("clean"), corrupted: try text("corrupted"), answer: try text("answer"),
                  wrong: try text("wrong"), positions: positions)
    }
}

/// A prompt or answer given as text or as token ids.
public enum TaskText: Codable, Equatable, Sendable {
    case text(String)
    case tokens([Int])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) { self = .text(text) } else { self = .tokens(try container.decode([Int].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .tokens(let ids): try container.encode(ids)
        }
    }

    /// The token ids: as given, or `encode(text)`.
    public func tokens(_ encode: (String) throws -> [Int]) rethrows -> [Int] {
        switch self {
        case .text(let text): return try encode(text)
        case .tokens(let ids): return ids
        }
    }
}

/// A malformed task file or example; the message names the file, the example and the field.
public struct TaskFileError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension TaskFile {
    /// The examples as ``PromptPairs``: prompts encoded with `encodePrompt` (e.g. with BOS), answers with
    /// `encodeAnswer` (without special tokens), which must give exactly one token each, and differ between an
    /// example's answer and wrong answer.
    ///
    /// Position labels present in every example become ``PromptPairs/positionLabels``.
    ///
    /// - Parameter tokenName: names a token id in errors (its vocabulary entry).
    /// - Throws: ``TaskFileError`` naming the example and field whose answer is not one token (explained by
    ///   ``OneTokenAnswer/explanation(of:ids:encode:tokenName:)``), or whose
    ///   answer and wrong answer are the same token; ``PromptPairsError``.
    public func promptPairs(encodePrompt: (String) throws -> [Int], encodeAnswer: (String) throws -> [Int],
                            padID: Int = 0, tokenName: (Int) -> String = { "#\($0)" }) throws -> PromptPairs {
        func prompt(_ text: TaskText, _ field: String, _ index: Int) throws -> [Int] {
            do { return try text.tokens(encodePrompt) } catch { throw TaskFileError("example \(index): '\(field)': \(error)") }
        }
        func single(_ text: TaskText, _ field: String, _ index: Int) throws -> Int {
            let ids = try text.tokens(encodeAnswer)
            guard ids.count != 1 else { return ids[0] }
            guard case .text(let string) = text else {
                throw TaskFileError("example \(index): '\(field)' is \(ids.count) tokens, not one")
            }
            throw TaskFileError("example \(index): '\(field)' "
                                + OneTokenAnswer.explanation(of: string, ids: ids, encode: encodeAnswer, tokenName: tokenName))
        }
        let labels = examples.first?.positions.map { Set($0.keys) } ?? []
        let shared = examples.reduce(labels) { $0.intersection($1.positions?.keys.map { $0 } ?? []) }
        let answers = try examples.enumerated().map { try single($1.answer, "answer", $0) }
        let wrongs = try examples.enumerated().map { try single($1.wrong, "wrong", $0) }
        if let i = answers.indices.first(where: { answers[$0] == wrongs[$0] }) {
            throw TaskFileError("example \(i): 'answer' and 'wrong' are the same token \(OneTokenAnswer.quoted(tokenName(answers[i]))) (#\(answers[i])): "
                                + "their logit difference is always 0")
        }
        return try PromptPairs(
            clean: try examples.enumerated().map { try prompt($1.clean, "clean", $0) },
            corrupted: try examples.enumerated().map { try prompt($1.corrupted, "corrupted", $0) },
            answers: answers, wrongs: wrongs,
            positionLabels: Dictionary(uniqueKeysWithValues: shared.map { label in (label, examples.map { $0.positions![label]! }) }),
            padID: padID)
    }
}

extension TaskFile {
    /// The examples as prompt pairs for a loaded model: prompts with its special tokens, answers as single
    /// tokens that are not special tokens (such as the tokenizer's unknown token), every id inside the
    /// vocabulary and every prompt inside the context.
    ///
    /// - Parameter source: names the task (its file path) at the start of every error.
    /// - Throws: ``TaskFileError`` naming `source`, the example, the field and the token at fault.
    public func promptPairs(for lm: LanguageModel, source: String = "task file") throws -> PromptPairs {
        do {
            let pairs = try promptPairs(encodePrompt: { try lm.tokens($0) },
                                        encodeAnswer: { try lm.tokenizer.encode($0, addSpecialTokens: false) },
                                        padID: lm.tokenizer.padTokenID ?? 0,
                                        tokenName: { lm.tokenizer.idToToken($0) ?? "#\($0)" })
            try check(pairs, for: lm)
            return pairs
        } catch let error as TaskFileError {
            throw TaskFileError("\(source): \(error)")
        } catch let error as PromptPairsError {
            throw TaskFileError("\(source): \(error)")
        }
    }

    private func check(_ pairs: PromptPairs, for lm: LanguageModel) throws {
        let vocabulary = lm.model.vocabularySize
        for i in 0..<pairs.count {
            // Prompts are right-padded to the longest: check each example's own tokens only.
            let real = pairs.clean.mask[i].filter { $0 }.count
            guard real <= lm.model.contextLength else {
                throw TaskFileError("example \(i): \(real) tokens exceed the model's context of \(lm.model.contextLength)")
            }
            let fields = [("clean", Array(pairs.clean.tokens[i].prefix(real))), ("corrupted", Array(pairs.corrupted.tokens[i].prefix(real))),
                          ("answer", [pairs.answers[i]]), ("wrong", [pairs.wrongs[i]])]
            for (field, ids) in fields {
                if let id = ids.first(where: { $0 >= vocabulary }) {
                    throw TaskFileError("example \(i): '\(field)': token id \(id) is outside the model's vocabulary of \(vocabulary)")
                }
            }
            for (field, text, id) in [("answer", examples[i].answer, pairs.answers[i]), ("wrong", examples[i].wrong, pairs.wrongs[i])] {
                // A word the tokenizer does not know becomes its unknown token, a special token.
                let name = lm.tokenizer.idToToken(id) ?? "#\(id)"
                guard case .text(let string) = text, !string.allSatisfy(\.isWhitespace), !string.contains(name),
                      lm.tokenizer.decode([id], skipSpecialTokens: true).isEmpty else { continue }
                throw TaskFileError("example \(i): '\(field)' \(OneTokenAnswer.quoted(string)) encodes to the special token \(OneTokenAnswer.quoted(name)) (#\(id)), "
                                    + "not a token of its own (a word the tokenizer does not know?)")
            }
        }
    }
}
