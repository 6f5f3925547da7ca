import Foundation
import Testing
import TestScratch
import LanguageModels

/// AdamW, the schedule, clipping, the loss, the trainer, checkpoints and resumption.
@Suite struct TrainingTests {
    @Test func adamWFirstStepOnAQuadraticIsTheClosedForm() {
        // f(p) = 3 p² / 2, gradient 3p. After one step m̂ = g and v̂ = g², so p₁ = p₀ (1 - lr λ) - lr g / (|g| + ε).
        let (lr, decay): (Float, Float) = (0.1, 0.5)
        var optimizer = AdamW(shapes: [[2]], decays: [true], options: AdamW.Options(weightDecay: decay))
        let p0: [Float] = [2, -0.5]
        var parameters = [Tensor(shape: [2], scalars: p0)]
        let gradient = Tensor(shape: [2], scalars: p0.map { 3 * $0 })
        optimizer.update(&parameters, gradients: [gradient], learningRate: lr)
        let expected = zip(p0, gradient.scalars).map { p, g in p * (1 - lr * decay) - lr * g / (Swift.abs(g) + 1e-8) }
        #expect(parameters[0].maxAbsDifference(Tensor(shape: [2], scalars: expected)) < 1e-6)
        #expect(optimizer.step == 1)
    }

    @Test func adamWWithAConstantGradientFollowsTheGeometricSeries() {
        // With a constant gradient c, m̂ₜ = c and v̂ₜ = c² at every step t, so each step is p ← r p - lr s with
        // r = 1 - lr λ, s = c / (|c| + ε): after T steps p = r^T p₀ - lr s (1 - r^T) / (1 - r).
        let (lr, decay, steps): (Double, Double, Int) = (0.05, 0.2, 25)
        var optimizer = AdamW(shapes: [[1], [1]], decays: [true, false],
                              options: AdamW.Options(beta1: 0.8, beta2: 0.95, weightDecay: Float(decay)))
        var parameters = [Tensor(shape: [1], scalars: [1.5]), Tensor(shape: [1], scalars: [1.5])]
        let c = -0.7
        for _ in 0..<steps {
            optimizer.update(&parameters, gradients: [Tensor(shape: [1], scalars: [Float(c)]), Tensor(shape: [1], scalars: [Float(c)])],
                             learningRate: Float(lr))
        }
        let s = c / (Swift.abs(c) + 1e-8), r = 1 - lr * decay
        let decayed = Foundation.pow(r, Double(steps)) * 1.5 - lr * s * (1 - Foundation.pow(r, Double(steps))) / (1 - r)
        let plain = 1.5 - Double(steps) * lr * s
        #expect(Swift.abs(Double(parameters[0].item) - decayed) < 1e-5)
        #expect(Swift.abs(Double(parameters[1].item) - plain) < 1e-5, "parameters not marked as decaying keep their size")
    }

    @Test func scheduleWarmsUpLinearlyThenFollowsTheCosine() {
        let schedule = LearningRateSchedule(peak: 1e-3, minimum: 1e-4, warmupSteps: 10, totalSteps: 110)
        #expect(Swift.abs(schedule.learningRate(atStep: 0) - 1e-4) < 1e-9)
        #expect(Swift.abs(schedule.learningRate(atStep: 4) - 5e-4) < 1e-9)
        #expect(Swift.abs(schedule.learningRate(atStep: 10) - 1e-3) < 1e-9)
        #expect(Swift.abs(schedule.learningRate(atStep: 60) - 5.5e-4) < 1e-8, "half way: the mean of peak and minimum")
        #expect(Swift.abs(schedule.learningRate(atStep: 35) - Float(1e-4 + 9e-4 * (1 + cos(Double.pi / 4)) / 2)) < 1e-8)
        #expect(Swift.abs(schedule.learningRate(atStep: 110) - 1e-4) < 1e-9)
        #expect(schedule.learningRate(atStep: 500) == schedule.learningRate(atStep: 110))
    }

    @Test func clippingScalesToTheGlobalNorm() {
        var gradients = [Tensor(shape: [2], scalars: [3, 0]), Tensor(shape: [1, 1], scalars: [4])]
        let norm = clipGlobalNorm(&gradients, maxNorm: 1)
        #expect(norm == 5)
        #expect(Swift.abs(globalNorm(gradients) - 1) < 1e-5)
        #expect(Swift.abs(gradients[0].scalars[0] - 0.6) < 1e-5 && Swift.abs(gradients[1].item - 0.8) < 1e-5)
        var small = [Tensor(shape: [2], scalars: [0.3, 0.4])]
        #expect(clipGlobalNorm(&small, maxNorm: 1) == 0.5)
        #expect(small[0].scalars == [0.3, 0.4], "gradients under the limit are untouched")
    }

    @Test func lossCountsOnlyTargetPositions() throws {
        let model = try TransformerModel.random(configuration: Toy.configuration, seed: 3, initialization: Initialization(standardDeviation: 0.5))
        let tokens = [2, 5, 6, 7, 8]
        let example = TrainingExample(prompt: Array(tokens.prefix(3)), completion: Array(tokens.suffix(2)))
        #expect(example.targets == [false, false, false, true, true])
        let logits = model.forward(TokenBatch([tokens]))
        let expected = crossEntropy(logits: logits.reshaped([5, -1]).indexSelect(axis: 0, [2, 3]), targets: [7, 8])
        #expect(Swift.abs(model.nextTokenLoss([example]).item - expected.item) < 1e-5)
        // A shorter example padded in the same batch does not change the loss of the longer one's positions.
        let short = TrainingExample(prompt: [2, 9], completion: [10])
        let shortLoss = model.nextTokenLoss([short]).item
        let together = model.nextTokenLoss([example, short], padID: 0).item
        #expect(Swift.abs(together - (2 * expected.item + shortLoss) / 3) < 1e-5)
    }

    @Test func trainingLowersTheLossAndCheckpointsReloadExactly() throws {
        let model = try TransformerModel.random(configuration: Toy.configuration, seed: 1)
        let options = TrainingOptions(steps: 50, batchSize: 8, learningRate: 1e-2, minimumLearningRate: 1e-3, warmupSteps: 5, seed: 4)
        let trainer = try Trainer(model: model, configuration: Toy.configuration, examples: Toy.examples, options: options,
                                  tokenizer: Toy.vocabulary.tokenizerFiles)
        var losses: [Float] = []
        try withTemporaryDirectory { directory in
            let checkpoint = directory.appendingPathComponent("run")
            try trainer.train(checkpointDirectory: checkpoint) { losses.append($0.loss) }
            #expect(losses.count == 50)
            let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
            #expect(last < 0.5 * first, "loss fell from \(first) to only \(last)")

            let reloaded = try TransformerModel.load(Checkpoint(directory: checkpoint))
            let batch = TokenBatch(Toy.examples.prefix(3).map { Array($0.tokens.prefix(6)) })
            #expect(reloaded.forward(batch) == trainer.model.forward(batch))
            let files = Set(try FileManager.default.contentsOfDirectory(atPath: checkpoint.path))
            #expect(files == ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                              "optimizer.safetensors", "trainer_state.json"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["run"], "no staging directory is left")
        }
    }

    @Test func resumingContinuesExactlyAsAnUninterruptedRun() throws {
        let model = try TransformerModel.random(configuration: Toy.configuration, seed: 2)
        let options = TrainingOptions(steps: 6, batchSize: 4, learningRate: 5e-3, warmupSteps: 2, seed: 9, checkpointInterval: 3)
        let straight = try Trainer(model: model, configuration: Toy.configuration, examples: Toy.examples, options: options)
        try straight.train()

        try withTemporaryDirectory { directory in
            var halfway = options
            halfway.steps = 3
            let first = try Trainer(model: model, configuration: Toy.configuration, examples: Toy.examples, options: halfway)
            try first.train(checkpointDirectory: directory)
            let resumed = try Trainer(resumingFrom: directory, examples: Toy.examples, options: options)
            #expect(resumed.completedSteps == 3)
            try resumed.train()
            #expect(resumed.model.parameters.map(\.tensor) == straight.model.parameters.map(\.tensor))
            #expect(resumed.optimizer.secondMoments == straight.optimizer.secondMoments)
        }
    }

    @Test func trainerRejectsBadExamples() throws {
        let model = try TransformerModel.random(configuration: Toy.configuration, seed: 1)
        let bad = Toy.examples + [TrainingExample(prompt: [2, 999], completion: [3])]
        do {
            _ = try Trainer(model: model, configuration: Toy.configuration, examples: bad, options: TrainingOptions(steps: 1))
            Issue.record("expected an error")
        } catch let error as TrainingError {
            #expect(error.description.contains("example \(bad.count - 1)") && error.description.contains("999"))
        }
    }

    @Test func samplerIsAPureFunctionOfSeedAndStep() {
        let sampler = TrainingSampler(exampleCount: 10, batchSize: 4, seed: 5)
        let epoch = (0..<5).flatMap { sampler.indices(forStep: $0) }
        #expect(Set(epoch.prefix(10)) == Set(0..<10), "each epoch visits every example once")
        #expect(sampler.indices(forStep: 3) == TrainingSampler(exampleCount: 10, batchSize: 4, seed: 5).indices(forStep: 3))
        #expect(sampler.indices(forStep: 0) != TrainingSampler(exampleCount: 10, batchSize: 4, seed: 6).indices(forStep: 0))
    }
}

/// A toy corpus: counting sequences a model learns within a few dozen steps.
enum Toy {
    static let sentences: [String] = (0..<40).map { i in
        let words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
        let start = i % 4
        return words[start..<(start + 6)].joined(separator: " ")
    }
    static let vocabulary = WordLevelVocabulary(corpus: sentences)
    static let examples = sentences.map { TrainingExample(tokens: vocabulary.encode($0), targets: [false] + Array(repeating: true, count: 6)) }
    static let configuration = ModelConfiguration(
        family: .gpt2, dModel: 32, nLayers: 2, nHeads: 4, dMLP: 64, vocabularySize: vocabulary.count, maxPositions: 16,
        normEpsilon: 1e-5, activation: .geluTanh, positionEncoding: .learned, attentionQKVBias: true,
        attentionOutputBias: true, mlpBias: true, tiedEmbeddings: true)
}
