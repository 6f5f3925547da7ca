import Foundation
import Testing
import Interp

/// Command-line-free harnesses, off by default:
///
/// - `INTERP_TRAIN_DEMO=<directory> swift test -c release --filter trainsIOIAndInduction` trains a small GPT-2 on the
///   IOI + induction mix, prints the loss, step time and held-out accuracy, and saves the model there
///   (`INTERP_TRAIN_STEPS` overrides the number of steps; an interrupted run resumes from its checkpoint).
/// - `INTERP_EXPORT_CHECK=<directory> swift test --filter exportsForTransformers` writes exported random models
///   with our logits for `scripts/check_exported_checkpoint.py`.
@Suite struct TrainingHarness {
    static let environment = ProcessInfo.processInfo.environment

    @Test(.enabled(if: environment["INTERP_TRAIN_DEMO"] != nil))
    func trainsIOIAndInduction() throws {
        let output = URL(fileURLWithPath: Self.environment["INTERP_TRAIN_DEMO"]!)
        let steps = Int(Self.environment["INTERP_TRAIN_STEPS"] ?? "") ?? 3000
        let ioi = IOITask().generate(examples: 500, sentences: 60_000, seed: 11)
        let induction = InductionTask().generate(examples: 500, sentences: 30_000, seed: 12)
        let vocabulary = WordLevelVocabulary(words: GeneratedTask.mixing([ioi, induction]).words)
        let configuration = ModelConfiguration(
            family: .gpt2, dModel: 128, nLayers: 3, nHeads: 4, dMLP: 512, vocabularySize: vocabulary.count, maxPositions: 32,
            normEpsilon: 1e-5, activation: .geluTanh, positionEncoding: .learned, attentionQKVBias: true,
            attentionOutputBias: true, mlpBias: true, tiedEmbeddings: true)
        // IOI sentences are scored on every position (predicting the names they repeat teaches copying names from
        // context), induction sentences on their repeat.
        let examples = ioi.corpus.map { $0.trainingExample(vocabulary, targets: .all) }
            + induction.corpus.map { $0.trainingExample(vocabulary) }
        let options = TrainingOptions(steps: steps, batchSize: 32, learningRate: 1e-3, minimumLearningRate: 1e-4,
                                      warmupSteps: 100, seed: 5, checkpointInterval: 1000, padID: vocabulary.padID)
        let checkpoint = output.appendingPathComponent("checkpoint")
        let trainer = FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("trainer_state.json").path)
            ? try Trainer(resumingFrom: checkpoint, examples: examples, options: options)
            : try Trainer(model: try TransformerModel.random(configuration: configuration, seed: 5), configuration: configuration,
                          examples: examples, options: options, tokenizer: vocabulary.tokenizerFiles)
        let start = Date(), firstStep = trainer.completedSteps
        var recent: [Float] = [], stepSeconds: [Double] = []
        try trainer.train(checkpointDirectory: checkpoint) { progress in
            recent.append(progress.loss)
            stepSeconds.append(progress.seconds)
            if progress.step % 100 == 0 {
                print(String(format: "step %5d  loss %.4f  lr %.2e  |g| %.3f  %.3f s/step", progress.step,
                             recent.reduce(0, +) / Float(recent.count), progress.learningRate, progress.gradientNorm,
                             stepSeconds.suffix(100).reduce(0, +) / Double(min(100, stepSeconds.count))))
                recent = []
            }
        }
        let seconds = Date().timeIntervalSince(start)
        try trainer.model.save(to: output.appendingPathComponent("model"), configuration: configuration, tokenizer: vocabulary.tokenizerFiles)
        for task in [ioi, induction] {
            try task.taskFile.write(to: output.appendingPathComponent("\(task.taskFile.task).json"))
            let accuracy = try Self.accuracy(trainer.model, task.taskFile, vocabulary)
            print("\(task.taskFile.task): held-out accuracy \(accuracy.clean) (answer > wrong), corrupted \(accuracy.corrupted)")
            #expect(accuracy.clean >= 0.95)
        }
        print(String(format: "trained steps %d-%d in %.1f s (%.3f s/step)", firstStep, steps, seconds,
                     seconds / Double(max(1, steps - firstStep))))
    }

    /// The fraction of examples whose answer logit beats the wrong answer's at the last position, for clean and
    /// corrupted prompts.
    static func accuracy(_ model: TransformerModel, _ file: TaskFile, _ vocabulary: WordLevelVocabulary) throws -> (clean: Double, corrupted: Double) {
        let pairs = try file.promptPairs(encodePrompt: { vocabulary.encode($0) }, encodeAnswer: { vocabulary.encode($0, addingBOS: false) },
                                         padID: vocabulary.padID)
        func fraction(_ batch: TokenBatch) -> Double {
            let logits = model.forward(batch, logitPositions: .last)
            let vocab = model.vocabularySize
            let wins = (0..<pairs.count).filter { i in
                logits.scalars[i * vocab + pairs.answers[i]] > logits.scalars[i * vocab + pairs.wrongs[i]]
            }
            return Double(wins.count) / Double(pairs.count)
        }
        return (fraction(pairs.clean), fraction(pairs.corrupted))
    }

    @Test(.enabled(if: environment["INTERP_EXPORT_CHECK"] != nil))
    func exportsForTransformers() throws {
        let root = URL(fileURLWithPath: Self.environment["INTERP_EXPORT_CHECK"]!)
        let task = IOITask().generate(examples: 4, sentences: 20, seed: 3)
        let vocabulary = WordLevelVocabulary(words: task.words)
        let texts = task.corpus.prefix(4).map(\.text) + ["When Mary and John went to the store, John gave a drink to Mary"]
        let gpt2 = ModelConfiguration(
            family: .gpt2, dModel: 32, nLayers: 2, nHeads: 4, dMLP: 64, vocabularySize: vocabulary.count, maxPositions: 32,
            normEpsilon: 1e-5, activation: .geluTanh, positionEncoding: .learned, attentionQKVBias: true,
            attentionOutputBias: true, mlpBias: true, tiedEmbeddings: true, bosTokenIDs: [vocabulary.bosID!])
        var gpt2Untied = gpt2
        gpt2Untied.tiedEmbeddings = false
        gpt2Untied.activation = .gelu
        let llama = ModelConfiguration(
            family: .llama(.llama), dModel: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, dMLP: 48, vocabularySize: vocabulary.count,
            maxPositions: 64, normEpsilon: 1e-6, activation: .silu, positionEncoding: .rotary(RotaryEmbedding(headDim: 8)),
            attentionQKVBias: false, attentionOutputBias: false, mlpBias: false, tiedEmbeddings: false)
        var qwen3 = llama
        qwen3.family = .llama(.qwen3)
        qwen3.qkNorm = true
        qwen3.tiedEmbeddings = true
        for (name, configuration, dtype) in [("gpt2", gpt2, SafetensorsDType.float32), ("gpt2_untied_bf16", gpt2Untied, .bfloat16),
                                             ("llama", llama, .float32), ("qwen3", qwen3, .float32)] {
            let model = try TransformerModel.random(configuration: configuration, seed: 1, initialization: Initialization(standardDeviation: 0.3))
            let directory = root.appendingPathComponent(name)
            try model.save(to: directory, configuration: configuration, tokenizer: vocabulary.tokenizerFiles, dtype: dtype)
            let saved = try TransformerModel.load(Checkpoint(directory: directory))   // the logits of the stored (possibly bf16) weights
            let ids = texts.map { vocabulary.encode($0) }
            let batch = TokenBatch.padding(ids, side: .right, padID: vocabulary.padID)
            let logits = saved.forward(batch)
            let check: [String: Any] = ["texts": texts, "input_ids": batch.tokens, "attention_mask": batch.mask.map { $0.map { $0 ? 1 : 0 } },
                                        "logits": logits.scalars.map(Double.init), "shape": logits.shape]
            try JSONSerialization.data(withJSONObject: check).write(to: directory.appendingPathComponent("swift_logits.json"))
        }
    }
}
