import ArgumentParser
import Circuits
import Foundation

/// The built-in task generators that `interp train` can mix.
enum TaskKind: String, ExpressibleByArgument, CaseIterable {
    case ioi, induction, greaterThan = "greater-than"

    /// Held-out examples and a training corpus.
    func generate(examples: Int, sentences: Int, seed: UInt64) -> GeneratedTask {
        switch self {
        case .ioi: return IOITask().generate(examples: examples, sentences: sentences, seed: seed)
        case .induction: return InductionTask().generate(examples: examples, sentences: sentences, seed: seed)
        case .greaterThan: return GreaterThanTask().generate(examples: examples, sentences: sentences, seed: seed)
        }
    }
}

/// `interp train`: train a small model on built-in tasks.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a small GPT-2- or Llama-style model on built-in synthetic tasks.",
        discussion: """
        Writes a Hugging Face directory (config.json, model.safetensors, tokenizer.json) that transformers also loads,
        plus the held-out task files (<task>.json; task.json is the first task's). Checkpoints go to OUT/checkpoint and
        an interrupted run continues from there with --resume. Training computes and saves in float32 (weights,
        gradients, optimizer moments) and loads no 16-bit model: it has no --model, --compute or --memory-limit.
        The embedded default model is:
          interp train --out Sources/InterpCLI/Resources/DefaultModel
        """)

    @Option(help: ArgumentHelp("Output model directory.", valueName: "dir")) var out: String
    @Option(help: "gpt2 or llama.") var family = "gpt2"
    @Option(help: "Tasks to mix, comma-separated: ioi, induction, greater-than.") var tasks = "ioi,induction"
    @Option(help: "Training sentences per task (the first task gets twice as many).") var sentences = 30_000
    @Option(help: "Held-out examples per task.") var examples = 500
    @Option(help: "Transformer blocks.") var layers = 3
    @Option(name: .customLong("d-model"), help: "Residual width.") var dModel = 128
    @Option(help: "Attention heads per block.") var heads = 4
    @Option(name: .customLong("d-mlp"), help: "MLP width.") var dMLP = 512
    @Option(help: "Optimizer steps (default 3000; with --recipe known-circuit 600, lookup-circuit 1500).") var steps: Int?
    @Option(help: """
        known-circuit (answer the first symbol through a 4-edge chain) or lookup-circuit (a key-value lookup head, its \
        query and key edges among its 4 edges): a model whose circuit training fixes (KnownCircuitRecipe); only --out, \
        --steps, --seed apply.
        """)
    var recipe: TrainRecipe?
    @Option(help: "Sequences per step.") var batchSize = 32
    @Option(help: "Peak learning rate (after warm-up, then cosine decay).") var learningRate: Float = 1e-3
    @Option(help: "Warm-up steps.") var warmup = 100
    @Option(help: "Clip the global gradient norm to this.") var clip: Float = 1
    @Option(help: "Random seed (data, initialization, order).") var seed: UInt64 = 5
    @Option(help: "Save a checkpoint every this many steps.") var checkpointInterval = 500
    @Flag(help: "Continue from OUT/checkpoint if it exists.") var resume = false

    func validate() throws {
        if !["gpt2", "llama"].contains(family) { throw ValidationError("--family must be gpt2 or llama") }
        for (name, value) in [("--layers", layers), ("--d-model", dModel), ("--heads", heads), ("--d-mlp", dMLP), ("--steps", steps ?? 1),
                              ("--batch-size", batchSize), ("--sentences", sentences), ("--examples", examples)] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        if dModel % heads != 0 { throw ValidationError("--d-model \(dModel) is not a multiple of --heads \(heads)") }
        if !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
        _ = try kinds()
    }

    func kinds() throws -> [TaskKind] {
        try tasks.split(separator: ",").map { name in
            guard let kind = TaskKind(rawValue: String(name).trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown task '\(name)' (known: \(TaskKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return kind
        }
    }

    func run() throws {
        if let recipe { return try trainKnownCircuit(recipe) }
        let steps = self.steps ?? 3000
        let generated = try kinds().enumerated().map { i, kind in
            kind.generate(examples: examples, sentences: i == 0 ? 2 * sentences : sentences, seed: seed &+ UInt64(11 + i))
        }
        let vocabulary = WordLevelVocabulary(words: GeneratedTask.mixing(generated).words)
        let configuration = modelConfiguration(vocabularySize: vocabulary.count)
        // The first task's sentences are scored on every position (predicting the names they repeat teaches copying
        // from context); the others on their completion.
        let trainingExamples = generated.enumerated().flatMap { i, task in
            task.corpus.map { $0.trainingExample(vocabulary, targets: i == 0 ? .all : .completion) }
        }
        let options = TrainingOptions(steps: steps, batchSize: batchSize, learningRate: learningRate, minimumLearningRate: learningRate / 10,
                                      warmupSteps: warmup, gradientClipNorm: clip, seed: seed,
                                      checkpointInterval: checkpointInterval, padID: vocabulary.padID)
        let output = URL(fileURLWithPath: out)
        let checkpoint = output.appendingPathComponent("checkpoint")
        let trainer = resume && FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("trainer_state.json").path)
            ? try Trainer(resumingFrom: checkpoint, examples: trainingExamples, options: options)
            : try Trainer(model: try TransformerModel.random(configuration: configuration, seed: seed), configuration: configuration,
                          examples: trainingExamples, options: options, tokenizer: vocabulary.tokenizerFiles)
        let bar = ProgressBar("training")
        var recent: [Float] = []
        let started = Date()
        try trainer.train(checkpointDirectory: checkpoint) { progress in
            recent.append(progress.loss)
            bar.update(progress.step, of: steps)
            if progress.step % 250 == 0 || progress.step == steps {
                FileHandle.standardError.write(Data(String(format: "  step %d  loss %.4f  lr %.2e\n", progress.step,
                                                           recent.reduce(0, +) / Float(recent.count), progress.learningRate).utf8))
                recent = []
            }
        }
        try trainer.model.save(to: output, configuration: configuration, tokenizer: vocabulary.tokenizerFiles)
        try? FileManager.default.removeItem(at: checkpoint)
        let lm = try LanguageModel.load(from: output)
        for (i, task) in generated.enumerated() {
            try task.taskFile.write(to: output.appendingPathComponent("\(task.taskFile.task).json"))
            if i == 0 { try task.taskFile.write(to: output.appendingPathComponent("task.json")) }
            let pairs = try task.taskFile.promptPairs(for: lm)
            print("\(task.taskFile.task): held-out accuracy \(Output.number(100 * pairs.accuracy(of: lm.model), digits: 1))% "
                  + "(corrupted prompts \(Output.number(100 * pairs.accuracy(of: lm.model, corrupted: true), digits: 1))%)")
        }
        print("trained \(steps) steps in \(Output.number(Float(Date().timeIntervalSince(started)), digits: 1)) s; model in \(output.path)")
    }

    func modelConfiguration(vocabularySize: Int) -> ModelConfiguration {
        let gpt2 = family == "gpt2"
        return ModelConfiguration(
            family: gpt2 ? .gpt2 : .llama(.llama), dModel: dModel, nLayers: layers, nHeads: heads, dMLP: dMLP,
            vocabularySize: vocabularySize, maxPositions: 32, normEpsilon: 1e-5, activation: gpt2 ? .geluTanh : .silu,
            positionEncoding: gpt2 ? .learned : .rotary(RotaryEmbedding(headDim: dModel / heads)), attentionQKVBias: gpt2,
            attentionOutputBias: gpt2, mlpBias: gpt2, tiedEmbeddings: true)
    }
}
