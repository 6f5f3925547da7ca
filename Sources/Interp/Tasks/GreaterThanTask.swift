/// Greater-than on years (Hanna et al. 2023): a period starts in year `CCXX` and the sentence ends with the
/// century `CC` of its end year, so the next token, the end year's last two digits `YY`, must exceed `XX`.
///
/// ```text
/// clean:     The war lasted from the year 1732 to the year 17      -> a two-digit token above 32
/// corrupted: The war lasted from the year 1701 to the year 17      (almost every end year is possible)
/// ```
///
/// Answer and wrong token: for each example `answer` is drawn uniformly from `XX+1 ... 99` and `wrong` from
/// `00 ... XX-1` (`XX` is drawn from `02 ... 98`), so a model that respects the order prefers the answer in
/// the clean prompt, and no longer needs to in the corrupted one. Training sentences end with an end year drawn
/// the same way as `answer`. Years are single words (`1732`), as are the century (`17`) and the two-digit end
/// (`45`). Position labels: `YEAR` (the start year), `END`; word-level tokens with BOS at 0.
public struct GreaterThanTask: Sendable {
    public var nouns: [String]
    /// Templates with `{NOUN}`, `{YEAR}` (four digits) and `{CENTURY}` (the two digits the prompt ends with).
    public var templates: [String]
    public var century: Int

    public init(nouns: [String] = GreaterThanTask.defaultNouns, templates: [String] = GreaterThanTask.defaultTemplates,
                century: Int = 17) {
        precondition((10...99).contains(century), "the century must have two digits")
        self.nouns = nouns; self.templates = templates; self.century = century
    }

    public func generate(examples: Int, sentences: Int, seed: UInt64) -> GeneratedTask {
        var generator = SeededGenerator(seed: seed)
        func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        func prompt(_ template: String, _ noun: String, _ start: Int) -> String {
            fill(template, ["NOUN": noun, "YEAR": "\(century)\(twoDigits(start))", "CENTURY": "\(century)"])
        }
        var taskExamples: [TaskExample] = [], heldOut = Set<String>()
        for _ in 0..<examples {
            let template = templates.randomElement(using: &generator)!, noun = nouns.randomElement(using: &generator)!
            let start = Int.random(in: 2...98, using: &generator)
            let clean = prompt(template, noun, start)
            heldOut.insert(clean)
            let words = WordLevelVocabulary.words(in: clean)
            taskExamples.append(TaskExample(
                clean: .text(clean), corrupted: .text(prompt(template, noun, 1)),
                answer: .text(" " + twoDigits(Int.random(in: (start + 1)...99, using: &generator))),
                wrong: .text(" " + twoDigits(Int.random(in: 0..<start, using: &generator))),
                positions: ["YEAR": words.firstIndex(of: "\(century)\(twoDigits(start))")! + 1, "END": words.count]))
        }
        var corpus: [TaskSentence] = []
        while corpus.count < sentences {
            let template = templates.randomElement(using: &generator)!, noun = nouns.randomElement(using: &generator)!
            let start = Int.random(in: 2...98, using: &generator)
            let text = prompt(template, noun, start)
            if heldOut.contains(text) { continue }
            corpus.append(TaskSentence(prompt: text, completion: " " + twoDigits(Int.random(in: (start + 1)...99, using: &generator))))
        }
        let years = (0...99).map { "\(century)\(twoDigits($0))" } + (0...99).map(twoDigits) + ["\(century)"]
        return GeneratedTask(
            taskFile: TaskFile(task: "greater-than", description: "Greater-than on years: the answer is a two-digit end year above the start "
                                   + "year's, the wrong answer one below it (both drawn uniformly); the corrupted prompt starts in year 01.",
                               positionUnit: wordLevelPositionUnit, examples: taskExamples),
            corpus: corpus, words: Set(templates.flatMap(templateWords) + nouns + years))
    }

    public static let defaultNouns = ["war", "expedition", "drought", "reign", "siege", "famine", "voyage", "dynasty", "strike", "trial"]
    public static let defaultTemplates = [
        "The {NOUN} lasted from the year {YEAR} to the year {CENTURY}",
        "The {NOUN} started in the year {YEAR} and ended in the year {CENTURY}",
        "The {NOUN} began in {YEAR} and was over by {CENTURY}",
    ]
}
