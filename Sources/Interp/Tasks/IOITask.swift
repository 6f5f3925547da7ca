/// Indirect object identification (Wang et al. 2022): two names are introduced, one of them (the subject S)
/// is repeated, and the sentence ends where the other one (the indirect object IO) comes next.
///
/// ```text
/// clean:     When Mary and John went to the store, John gave a drink to      -> " Mary" (IO), wrong " John" (S)
/// corrupted: When Mary and John went to the store, Kate gave a drink to      (S2 replaced by a third name)
/// ```
///
/// In the corrupted prompt both introduced names occur once, so the clean answer loses its reason. Both name
/// orders occur (IO first, "ABBA", and S first, "BABA"). Position labels: `IO`, `S1`, `S2` (the first and
/// second occurrence of S) and `END`, counted in word-level tokens with BOS at 0.
public struct IOITask: Sendable {
    public var names: [String]
    public var places: [String]
    public var objects: [String]
    /// Templates with `{A}` and `{B}` (the two names, in order), `{S}` (the repeated subject), `{PLACE}`, `{OBJECT}`;
    /// each ends right before the indirect object.
    public var templates: [String]

    public init(names: [String] = IOITask.defaultNames, places: [String] = IOITask.defaultPlaces,
                objects: [String] = IOITask.defaultObjects, templates: [String] = IOITask.defaultTemplates) {
        precondition(names.count >= 3, "IOI needs at least three names")
        self.names = names; self.places = places; self.objects = objects; self.templates = templates
    }

    /// `examples` held-out task examples and `sentences` training sentences, reproducible from `seed`.
    public func generate(examples: Int, sentences: Int, seed: UInt64) -> GeneratedTask {
        var generator = SeededGenerator(seed: seed)
        let heldOut = (0..<examples).map { _ in sample(&generator) }
        let prompts = Set(heldOut.map(\.clean))
        var corpus: [TaskSentence] = []
        while corpus.count < sentences {
            let s = sample(&generator)
            if !prompts.contains(s.clean) { corpus.append(TaskSentence(prompt: s.clean, completion: " " + s.io)) }
        }
        let taskExamples = heldOut.map { s in
            TaskExample(clean: .text(s.clean), corrupted: .text(s.corrupted), answer: .text(" " + s.io), wrong: .text(" " + s.subject),
                        positions: s.positions)
        }
        let words = Set(templates.flatMap(templateWords) + (names + places + objects).flatMap { WordLevelVocabulary.words(in: $0) })
        return GeneratedTask(
            taskFile: TaskFile(task: "ioi", description: "Indirect object identification: the answer is the name mentioned once (IO), "
                                   + "the wrong answer the repeated subject (S); the corrupted prompt replaces the second S by a third name.",
                               positionUnit: wordLevelPositionUnit, examples: taskExamples),
            corpus: corpus, words: words)
    }

    private struct Sample {
        var clean: String, corrupted: String, io: String, subject: String, positions: [String: Int]
    }

    private func sample(_ generator: inout SeededGenerator) -> Sample {
        let picked = generator.distinct(3, from: names)
        let (io, subject, third) = (picked[0], picked[1], picked[2])
        let ioFirst = Bool.random(using: &generator)
        let template = templates.randomElement(using: &generator)!
        var values = ["A": ioFirst ? io : subject, "B": ioFirst ? subject : io, "S": subject,
                      "PLACE": places.randomElement(using: &generator)!, "OBJECT": objects.randomElement(using: &generator)!]
        let clean = fill(template, values)
        values["S"] = third
        let corrupted = fill(template, values)
        let words = WordLevelVocabulary.words(in: clean)
        let subjectPositions = words.indices.filter { words[$0] == subject }
        let positions = ["IO": words.firstIndex(of: io)!, "S1": subjectPositions.first!, "S2": subjectPositions.last!,
                         "END": words.count - 1].mapValues { $0 + 1 }
        return Sample(clean: clean, corrupted: corrupted, io: io, subject: subject, positions: positions)
    }

    public static let defaultNames = [
        "Mary", "John", "Alice", "Bob", "Sarah", "Tom", "James", "Emma", "Kate", "David", "Anna", "Paul", "Laura",
        "Mark", "Lisa", "Peter", "Susan", "Michael", "Rachel", "Daniel", "Jessica", "Kevin", "Amy", "Steven", "Helen",
        "Brian", "Julia", "Eric", "Karen", "Jason", "Linda", "Adam", "Nancy", "Ryan", "Grace", "Scott", "Diana",
        "Frank", "Ruth", "George",
    ]
    public static let defaultPlaces = [
        "store", "garden", "restaurant", "school", "hospital", "office", "station", "park", "house", "market",
        "library", "beach", "cafe", "museum", "theater",
    ]
    public static let defaultObjects = [
        "a drink", "a book", "a ring", "a kiss", "a bone", "a basketball", "a computer", "a necklace", "a snack",
        "an apple", "a letter", "a flower",
    ]
    public static let defaultTemplates = [
        "When {A} and {B} went to the {PLACE}, {S} gave {OBJECT} to",
        "When {A} and {B} got {OBJECT} at the {PLACE}, {S} decided to give it to",
        "After {A} and {B} went to the {PLACE}, {S} gave {OBJECT} to",
        "Then, {A} and {B} were working at the {PLACE}. {S} decided to give {OBJECT} to",
        "While {A} and {B} were commuting to the {PLACE}, {S} gave {OBJECT} to",
        "Friends {A} and {B} found {OBJECT} at the {PLACE}. {S} gave it to",
        "{A} and {B} had a long argument at the {PLACE}. Afterwards {S} said to",
        "Then, {A} and {B} had a lot of fun at the {PLACE}. {S} gave {OBJECT} to",
        "When {A} and {B} arrived at the {PLACE}, {S} handed {OBJECT} to",
        "The {PLACE} that {A} and {B} visited was closed, so {S} sent {OBJECT} to",
    ]
}
