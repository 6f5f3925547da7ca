/// Induction on repeated random tokens: a block of distinct random words, then the block again; within the
/// repeat, the next word is predictable only by finding the current word earlier and copying what followed.
///
/// ```text
/// clean:     ba ko mi tu ... ze  ba ko mi        -> " tu" (what followed "mi" in the block)
/// corrupted: lo fe gu da ... pa  ba ko mi        (a different first block: nothing to copy)
/// wrong:     the block word after the answer (another word in context, so the logit difference measures
///            copying the right word, not merely copying a word from context)
/// ```
///
/// Position labels: `CURRENT_FIRST` (the first occurrence of the last prompt word), `ANSWER_FIRST` (the first
/// occurrence of the answer) and `END`, in word-level tokens with BOS at 0. Training sentences are a block and
/// its repeat; the completion is the repeat after its first word.
public struct InductionTask: Sendable {
    /// The random words (by default 100 syllables such as `ba`, `ko`).
    public var vocabulary: [String]
    public var blockLength: Int

    public init(vocabulary: [String] = InductionTask.syllables, blockLength: Int = 8) {
        precondition(blockLength >= 3 && 2 * blockLength <= vocabulary.count, "need 3 <= blockLength <= vocabulary / 2")
        self.vocabulary = vocabulary
        self.blockLength = blockLength
    }

    public func generate(examples: Int, sentences: Int, seed: UInt64) -> GeneratedTask {
        var generator = SeededGenerator(seed: seed)
        var taskExamples: [TaskExample] = [], heldOut = Set<String>()
        for _ in 0..<examples {
            let words = generator.distinct(2 * blockLength, from: vocabulary)
            let block = Array(words.prefix(blockLength)), other = Array(words.suffix(blockLength))
            let k = Int.random(in: 1..<blockLength, using: &generator)
            let repeated = block.prefix(k)
            heldOut.insert(block.joined(separator: " "))
            taskExamples.append(TaskExample(
                clean: .text((block + repeated).joined(separator: " ")),
                corrupted: .text((other + repeated).joined(separator: " ")),
                answer: .text(" " + block[k]), wrong: .text(" " + block[(k + 1) % blockLength]),
                positions: ["CURRENT_FIRST": k, "ANSWER_FIRST": k + 1, "END": blockLength + k]))
        }
        var corpus: [TaskSentence] = []
        while corpus.count < sentences {
            let block = generator.distinct(blockLength, from: vocabulary)
            let text = block.joined(separator: " ")
            if heldOut.contains(text) { continue }
            corpus.append(TaskSentence(prompt: text + " " + block[0], completion: " " + block.dropFirst().joined(separator: " ")))
        }
        return GeneratedTask(
            taskFile: TaskFile(task: "induction", description: "Induction on a repeated block of random words: the answer is the word that "
                                   + "followed the current word in the first block, the wrong answer the word after that; the corrupted "
                                   + "prompt replaces the first block by different words.",
                               positionUnit: wordLevelPositionUnit, examples: taskExamples),
            corpus: corpus, words: Set(vocabulary))
    }

    /// 100 consonant-vowel syllables: `ba be bi bo bu da ... zu`.
    public static let syllables: [String] = "bdfghklmnprstvzcjwyx".flatMap { c in "aeiou".map { "\(c)\($0)" } }
}
