/// What a task generator produces: a task file of held-out examples, a training corpus and the words of both.
public struct GeneratedTask: Sendable {
    /// Held-out examples (no corpus sentence starts with one of their clean prompts).
    public var taskFile: TaskFile
    /// Training sentences, each a prompt with its answer.
    public var corpus: [TaskSentence]
    /// Every word a sentence of this task can contain (not only those sampled), for a word-level vocabulary.
    public var words: Set<String>

    /// Several tasks' corpora and words together (the task file is the first task's).
    public static func mixing(_ tasks: [GeneratedTask]) -> (corpus: [TaskSentence], words: Set<String>) {
        (tasks.flatMap(\.corpus), tasks.reduce(into: Set<String>()) { $0.formUnion($1.words) })
    }
}

/// One training sentence: a prompt and its completion (the answer, with a leading space).
public struct TaskSentence: Codable, Equatable, Sendable {
    public var prompt: String
    public var completion: String

    public init(prompt: String, completion: String) {
        self.prompt = prompt
        self.completion = completion
    }

    public var text: String { prompt + completion }

    /// A training example: the prompt with BOS and the completion, encoded with `vocabulary`.
    public func trainingExample(_ vocabulary: WordLevelVocabulary, targets: TrainingExample.Targets = .completion) -> TrainingExample {
        TrainingExample(prompt: vocabulary.encode(prompt), completion: vocabulary.encode(completion, addingBOS: false), targets: targets)
    }
}

/// The position unit of the generated task files.
let wordLevelPositionUnit = "tokens of the task's word-level tokenizer (Whitespace pre-tokenizer) with <bos> at position 0"

/// Words of a template with its `{PLACEHOLDER}`s removed.
func templateWords(_ template: String) -> [String] {
    var text = template
    while let open = text.firstIndex(of: "{"), let close = text[open...].firstIndex(of: "}") {
        text.replaceSubrange(open...close, with: " ")
    }
    return WordLevelVocabulary.words(in: text)
}

/// Fills `{KEY}` placeholders.
func fill(_ template: String, _ values: [String: String]) -> String {
    values.reduce(template) { $0.replacingOccurrences(of: "{\($1.key)}", with: $1.value) }
}

extension RandomNumberGenerator {
    /// `count` distinct elements of `pool`, in random order.
    mutating func distinct<T>(_ count: Int, from pool: [T]) -> [T] {
        precondition(count <= pool.count, "cannot pick \(count) distinct items from \(pool.count)")
        var indices = Array(pool.indices)
        for i in 0..<count { indices.swapAt(i, Int.random(in: i..<indices.count, using: &self)) }
        return indices.prefix(count).map { pool[$0] }
    }
}
