import Foundation

/// One example of a behaviour: a clean prompt, a corrupted prompt of the same token length, the expected
/// next token and a contrasting wrong one (strings, or token ids written `#123`), and optional named
/// positions (token indices, e.g. `"IO": 3`).
public struct TaskExample: Codable, Equatable, Sendable {
    public var clean: String
    public var corrupted: String
    public var answer: String
    public var wrong: String
    public var positions: [String: Int]?

    public init(clean: String, corrupted: String, answer: String, wrong: String, positions: [String: Int]? = nil) {
        self.clean = clean
        self.corrupted = corrupted
        self.answer = answer
        self.wrong = wrong
        self.positions = positions
    }
}

/// A task file: a JSON array of ``TaskExample``, a JSON object `{"name": ..., "examples": [...]}`, or JSONL
/// (one example per line).
public struct TaskFile: Codable, Equatable, Sendable {
    public var name: String?
    public var examples: [TaskExample]

    public init(name: String? = nil, examples: [TaskExample]) {
        self.name = name
        self.examples = examples
    }

    /// Reads a task file, with errors naming the file, the example (or line) and the field at fault.
    public static func read(from url: URL) throws -> TaskFile {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TaskFileError(path: url.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        let decoder = JSONDecoder()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var file: TaskFile
        if text.hasPrefix("{") && !text.contains("\n{") {
            do { file = try decoder.decode(TaskFile.self, from: data) } catch {
                throw TaskFileError(path: url.path, reason: describe(error))
            }
        } else if text.hasPrefix("[") {
            do { file = TaskFile(examples: try decoder.decode([TaskExample].self, from: data)) } catch {
                throw TaskFileError(path: url.path, reason: describe(error))
            }
        } else {
            var examples: [TaskExample] = []
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                do { examples.append(try decoder.decode(TaskExample.self, from: Data(line.utf8))) } catch {
                    throw TaskFileError(path: url.path, reason: "line \(number + 1): \(describe(error))")
                }
            }
            file = TaskFile(examples: examples)
        }
        guard !file.examples.isEmpty else { throw TaskFileError(path: url.path, reason: "has no examples") }
        file.name = file.name ?? url.deletingPathExtension().lastPathComponent
        return file
    }

    /// The file as pretty JSON.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    private static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return error.localizedDescription }
        func place(_ path: [CodingKey]) -> String {
            path.map { $0.intValue.map { "example \($0)" } ?? "'\($0.stringValue)'" }.joined(separator: ", field ")
        }
        switch error {
        case let .keyNotFound(key, context):
            return (context.codingPath.isEmpty ? "" : place(context.codingPath) + ": ") + "missing field '\(key.stringValue)'"
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            return place(context.codingPath) + ": " + context.debugDescription
        case let .dataCorrupted(context):
            return context.codingPath.isEmpty ? "malformed JSON" : place(context.codingPath) + ": " + context.debugDescription
        @unknown default: return error.localizedDescription
        }
    }
}

/// A task file that cannot be used.
public struct TaskFileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

extension Array where Element == TaskExample {
    /// Tokenizes the examples into prompt pairs.
    ///
    /// - Throws: an error naming the example whose prompts differ in token length, or whose answer is not
    ///   a single token.
    public func tokenized(with lm: LanguageModel) throws -> PromptPairs {
        var clean: [[Int]] = [], corrupted: [[Int]] = [], answers: [Int] = [], wrongs: [Int] = []
        var labels: [String: [Int]] = [:]
        for (i, example) in enumerated() {
            do {
                let c = try lm.tokens(example.clean), x = try lm.tokens(example.corrupted)
                guard c.count == x.count else { throw PromptPairsError.lengthMismatch(example: i, clean: c.count, corrupted: x.count) }
                clean.append(c); corrupted.append(x)
                answers.append(try lm.singleToken(example.answer)); wrongs.append(try lm.singleToken(example.wrong))
                for (label, position) in example.positions ?? [:] { labels[label, default: []].append(position) }
            } catch let error as PromptPairsError {
                throw error
            } catch {
                throw TaskFileError(path: "example \(i)", reason: "\(error)")
            }
        }
        let complete = labels.filter { $0.value.count == count }
        return try PromptPairs(clean: clean, corrupted: corrupted, answers: answers, wrongs: wrongs,
                               positionLabels: complete, padID: lm.tokenizer.padTokenID ?? 0)
    }
}
