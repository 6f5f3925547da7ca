import Foundation

/// What a training run does: its length, batch size, learning-rate schedule, optimizer, clipping, seed
/// and checkpoint interval.
public struct TrainingOptions: Codable, Equatable, Sendable {
    /// The total number of updates.
    public var steps: Int
    public var batchSize: Int
    /// The peak learning rate, reached after `warmupSteps` and decayed along a cosine to `minimumLearningRate`.
    public var learningRate: Float
    public var minimumLearningRate: Float
    public var warmupSteps: Int
    public var optimizer: AdamW.Options
    /// The global gradient norm is clipped to this value; nil: no clipping.
    public var gradientClipNorm: Float?
    /// Seeds the order of the examples.
    public var seed: UInt64
    /// Save a checkpoint every this many steps (when training with a checkpoint directory); nil: only at the end.
    public var checkpointInterval: Int?
    /// The token id that pads shorter sequences of a batch (never a target, masked from attention).
    public var padID: Int

    public init(steps: Int, batchSize: Int = 32, learningRate: Float = 1e-3, minimumLearningRate: Float = 1e-4,
                warmupSteps: Int = 100, optimizer: AdamW.Options = AdamW.Options(), gradientClipNorm: Float? = 1,
                seed: UInt64 = 0, checkpointInterval: Int? = nil, padID: Int = 0) {
        self.steps = steps; self.batchSize = batchSize; self.learningRate = learningRate
        self.minimumLearningRate = minimumLearningRate; self.warmupSteps = warmupSteps; self.optimizer = optimizer
        self.gradientClipNorm = gradientClipNorm; self.seed = seed; self.checkpointInterval = checkpointInterval
        self.padID = padID
    }

    /// The learning-rate schedule these options describe.
    public var schedule: LearningRateSchedule {
        LearningRateSchedule(peak: learningRate, minimum: minimumLearningRate, warmupSteps: warmupSteps, totalSteps: steps)
    }
}

/// What one training step reports.
public struct TrainingProgress: Sendable, Equatable {
    /// The number of updates done, this one included (1-based).
    public var step: Int
    /// The batch's mean cross-entropy before the update.
    public var loss: Float
    /// The learning rate of the update.
    public var learningRate: Float
    /// The global gradient norm before clipping.
    public var gradientNorm: Float
    /// The wall-clock time of the step.
    public var seconds: Double
}

/// Trains a ``TransformerModel`` on next-token prediction with AdamW, deterministically from a seed.
///
/// ```swift
/// let model = try TransformerModel.random(configuration: configuration, seed: 1)
/// let trainer = try Trainer(model: model, configuration: configuration, examples: examples,
///                           options: TrainingOptions(steps: 2000, checkpointInterval: 500))
/// try trainer.train(checkpointDirectory: URL(fileURLWithPath: "run")) { print($0.step, $0.loss) }
/// // later, after an interruption:
/// let resumed = try Trainer(resumingFrom: URL(fileURLWithPath: "run"), examples: examples)
/// ```
///
/// Gradients come from the ``GradientTape``: every parameter is watched, a copy of the model with the watched
/// tensors runs forward, and one backward pass gives all gradients.
public final class Trainer {
    public private(set) var model: TransformerModel
    public let configuration: ModelConfiguration
    public let options: TrainingOptions
    public let examples: [TrainingExample]
    /// The optimizer state; its `step` is the number of updates done.
    public private(set) var optimizer: AdamW
    /// Tokenizer files written into every checkpoint, so that a checkpoint is a complete model directory.
    public var tokenizer: TokenizerFiles?
    private let sampler: TrainingSampler

    /// Starts training `model` (a dense model of `configuration`) from scratch.
    ///
    /// - Throws: ``TrainingError`` naming the first example with a token outside the vocabulary, more tokens
    ///   than the model's context, or no target.
    public convenience init(model: TransformerModel, configuration: ModelConfiguration, examples: [TrainingExample],
                            options: TrainingOptions, tokenizer: TokenizerFiles? = nil) throws {
        let parameters = model.parameters.map(\.tensor)
        let optimizer = AdamW(shapes: parameters.map(\.shape), decays: AdamW.decays(for: parameters.map(\.shape)), options: options.optimizer)
        try self.init(model: model, configuration: configuration, examples: examples, options: options,
                      optimizer: optimizer, tokenizer: tokenizer)
    }

    init(model: TransformerModel, configuration: ModelConfiguration, examples: [TrainingExample], options: TrainingOptions,
         optimizer: AdamW, tokenizer: TokenizerFiles?) throws {
        guard !examples.isEmpty else { throw TrainingError("no training examples") }
        guard options.steps >= 0, options.batchSize > 0 else {
            throw TrainingError("steps must not be negative and batchSize must be positive (got \(options.steps), \(options.batchSize))")
        }
        for (index, example) in examples.enumerated() {
            if let bad = example.tokens.first(where: { $0 < 0 || $0 >= model.vocabularySize }) {
                throw TrainingError("example \(index): token id \(bad) is outside the vocabulary of \(model.vocabularySize)")
            }
            guard example.tokens.count <= model.contextLength else {
                throw TrainingError("example \(index): \(example.tokens.count) tokens exceed the context length \(model.contextLength)")
            }
            guard example.targetCount > 0 else { throw TrainingError("example \(index): no target position") }
        }
        self.model = model
        self.configuration = configuration
        self.examples = examples
        self.options = options
        self.optimizer = optimizer
        self.tokenizer = tokenizer
        sampler = TrainingSampler(exampleCount: examples.count, batchSize: options.batchSize, seed: options.seed)
    }

    /// The number of updates done so far.
    public var completedSteps: Int { optimizer.step }

    /// Runs one update on the next batch and reports it.
    @discardableResult
    public func step() -> TrainingProgress {
        let start = Date()
        let index = optimizer.step
        let learningRate = options.schedule.learningRate(atStep: index)
        let batch = sampler.indices(forStep: index).map { examples[$0] }
        var parameters = model.parameters.map(\.tensor)
        let current = model
        var (loss, gradients) = withGradients { tape -> (Float, [Tensor]) in
            let watched = parameters.map { tape.watch($0) }
            let loss = current.replacingParameters(watched).nextTokenLoss(batch, padID: options.padID)
            return (loss.item, tape.gradients(of: loss, withRespectTo: watched))
        }
        let norm = options.gradientClipNorm.map { clipGlobalNorm(&gradients, maxNorm: $0) } ?? globalNorm(gradients)
        optimizer.update(&parameters, gradients: gradients, learningRate: learningRate)
        model = model.replacingParameters(parameters)
        return TrainingProgress(step: optimizer.step, loss: loss, learningRate: learningRate, gradientNorm: norm,
                                seconds: Date().timeIntervalSince(start))
    }

    /// Trains until `options.steps` updates are done, calling `progress` after each.
    ///
    /// With a `checkpointDirectory`, a checkpoint is saved there every `options.checkpointInterval` steps and
    /// at the end (each save replaces the directory atomically).
    public func train(checkpointDirectory: URL? = nil, progress: (TrainingProgress) -> Void = { _ in }) throws {
        while completedSteps < options.steps {
            progress(step())
            if let checkpointDirectory, let interval = options.checkpointInterval, completedSteps % interval == 0,
               completedSteps < options.steps {
                try saveCheckpoint(to: checkpointDirectory)
            }
        }
        if let checkpointDirectory { try saveCheckpoint(to: checkpointDirectory) }
    }
}
