import Foundation

/// A trained model whose circuit is known because training fixes it: a GPT-2-style model (2 layers) trained on a
/// small task with interchange-intervention losses on its edges, in the spirit of InterpBench's strict
/// interchange-intervention training (SIIT, Gupta et al. 2024, arXiv 2407.14494), at the level of edges.
///
/// Two tasks (``Task``): answer the first symbol, whose designated circuit is a chain of four value and MLP edges
/// (head `a0.h0` reads the tokens as values and writes the first one, `a1.h0` reads that write as its value and
/// writes it at the last position, `m1` reads `a1.h0` and writes the logits), or a key–value lookup, whose circuit
/// of four edges runs through a head's query and key inputs. Every other edge is trained to be irrelevant.
/// Each step draws base prompts and source prompts (with another answer) and minimizes the sum of three
/// cross-entropies:
/// - behaviour: the base run predicts the base answer;
/// - strict: with every edge outside the circuit patched from the source run, the base answer is still predicted
///   (the circuit alone carries the behaviour);
/// - interchange: with one circuit edge (in turn) patched from the source run, the answer of the task's high-level
///   model under that intervention is predicted (for the first symbol, the source's answer): the circuit is what
///   carries it.
///
/// Patching the edge `s → r` gives `r` the input `in_r + (out_s(source) − out_s(this run))`, the decomposition of
/// ``EdgePatching`` (`input` is the embedding, a head its result, an MLP its output), differentiated on the tape.
/// Edges outside the circuit end with small, non-zero effects: near misses for the methods to rank below the true edges.
public enum KnownCircuitRecipe {
    /// The size of the model and of the training run.
    public struct Options: Codable, Equatable, Sendable {
        /// The task and its designated circuit.
        public var task: Task
        /// Distinct symbols of the prompts.
        public var symbols: Int
        /// Tokens per prompt.
        public var length: Int
        /// Heads per layer (the circuit uses head 0 of each layer; the others are distractors).
        public var heads: Int
        public var dModel: Int
        public var dMLP: Int
        public var steps: Int
        /// Base prompts per step.
        public var batchSize: Int
        public var learningRate: Float
        /// Seeds the initialization and the prompts.
        public var seed: UInt64

        public init(task: Task = .firstSymbol, symbols: Int = 8, length: Int = 5, heads: Int = 3, dModel: Int = 48, dMLP: Int = 96, steps: Int = 600,
                    batchSize: Int = 32, learningRate: Float = 3e-3, seed: UInt64 = 0) {
            self.task = task; self.symbols = symbols; self.length = length; self.heads = heads; self.dModel = dModel; self.dMLP = dMLP
            self.steps = steps; self.batchSize = batchSize; self.learningRate = learningRate; self.seed = seed
        }

        /// Checks that the sizes make a model and a task.
        func validate() throws {
            guard symbols >= 2, length >= 2, heads >= 1, dModel >= 1, dMLP >= 1, steps >= 0, batchSize >= 1,
                  dModel % heads == 0, learningRate > 0 else {
                throw CircuitError.invalidArgument("known-circuit recipe: need ≥ 2 symbols, length ≥ 2, ≥ 1 head dividing dModel, "
                    + "dMLP ≥ 1, steps ≥ 0, batch ≥ 1 and a positive learning rate (got \(self))")
            }
            try task.validate(self)
        }
    }

    /// The outcome of training.
    public struct Result {
        public let model: TransformerModel
        public let configuration: ModelConfiguration
        public let vocabulary: WordLevelVocabulary
        /// The mean total loss (behaviour + strict + interchange) of each step.
        public let losses: [Float]
        public let options: Options

        /// The true edges in `graph` (this model's graph).
        public func trueEdges(in graph: ComputationGraph) -> Set<ComputationGraph.Edge> {
            KnownCircuitRecipe.trueEdges(of: options.task, in: graph)
        }

        /// Held-out prompt pairs: base prompts, source prompts with another answer as the corrupted prompts.
        public func pairs(count: Int, seed: UInt64) throws -> PromptPairs {
            var generator = SeededGenerator(seed: seed)
            let (clean, corrupted) = KnownCircuitRecipe.prompts(count: count, options: options, using: &generator)
            let ids = KnownCircuitRecipe.tokenIDs(options, vocabulary)
            return try PromptPairs(clean: clean.map { $0.map { ids[$0] } }, corrupted: corrupted.map { $0.map { ids[$0] } },
                                   answers: clean.map { ids[options.task.answer($0)] }, wrongs: corrupted.map { ids[options.task.answer($0)] })
        }

        /// The held-out pairs as a task file (token ids).
        public func taskFile(count: Int, seed: UInt64) throws -> TaskFile {
            let pairs = try pairs(count: count, seed: seed)
            let examples = (0..<pairs.count).map { i in
                TaskExample(clean: .tokens(pairs.clean.tokens[i]), corrupted: .tokens(pairs.corrupted.tokens[i]),
                            answer: .tokens([pairs.answers[i]]), wrong: .tokens([pairs.wrongs[i]]))
            }
            return TaskFile(task: options.task.taskName, description: options.task.summary, examples: examples)
        }

        /// Writes a model directory (config.json, model.safetensors, tokenizer files), `task.json` (`taskExamples`
        /// held-out pairs) and `circuit.json` (the true edges), for `interp methods-benchmark --model`.
        public func save(to directory: URL, taskExamples: Int = 32) throws {
            try model.save(to: directory, configuration: configuration, tokenizer: vocabulary.tokenizerFiles)
            try taskFile(count: taskExamples, seed: options.seed &+ 1).write(to: directory.appendingPathComponent("task.json"))
            let graph = ComputationGraph(model: model)
            let truth = Circuit(graph: graph, edges: trueEdges(in: graph),
                                metadata: ["method": "\(options.task.taskName) recipe (true edges)", "seed": "\(options.seed)", "steps": "\(options.steps)"])
            try truth.jsonData(modelWidth: model.dModel).write(to: directory.appendingPathComponent("circuit.json"))
        }
    }

    /// The true edges of `task` in a 2-layer graph.
    public static func trueEdges(of task: Task = .firstSymbol, in graph: ComputationGraph) -> Set<ComputationGraph.Edge> {
        let byName = graph.edgesByName()
        return Set(task.trueEdgeNames.compactMap { byName[$0] })
    }

    /// Trains the model; deterministic under `options.seed`. `progress` receives each step's number and loss.
    public static func train(_ options: Options = Options(),
                             progress: ((_ step: Int, _ loss: Float) -> Void)? = nil) throws -> Result {
        try options.validate()
        let vocabulary = WordLevelVocabulary(words: options.task.words(symbols: options.symbols))
        let ids = tokenIDs(options, vocabulary)
        let configuration = ModelConfiguration(
            family: .gpt2, dModel: options.dModel, nLayers: 2, nHeads: options.heads, dMLP: options.dMLP,
            vocabularySize: vocabulary.count, maxPositions: options.length, normEpsilon: 1e-5, activation: .geluTanh,
            positionEncoding: .learned, attentionQKVBias: true, attentionOutputBias: true, mlpBias: true, tiedEmbeddings: false)
        var model = try TransformerModel.random(configuration: configuration, seed: options.seed)
        let graph = ComputationGraph(model: model)
        let task = options.task, names = task.trueEdgeNames
        let chain = names.map { graph.edgesByName()[$0]! }.map { EdgeKey(sender: graph.index(of: $0.sender), receiver: graph.index(of: $0.receiver)) }
        let circuit = Set(chain)
        let shapes = model.parameters.map(\.tensor.shape)
        var optimizer = AdamW(shapes: shapes, decays: AdamW.decays(for: shapes))
        let schedule = LearningRateSchedule(peak: options.learningRate, minimum: options.learningRate / 10,
                                            warmupSteps: min(50, options.steps / 10), totalSteps: options.steps)
        var generator = SeededGenerator(seed: options.seed &* 0x9E37_79B9_7F4A_7C15 &+ 7)
        var losses: [Float] = []
        for step in 0..<options.steps {
            let (bases, sources) = prompts(count: options.batchSize, options: options, using: &generator)
            let link = step % chain.count
            let baseBatch = TokenBatch(bases.map { $0.map { ids[$0] } }), baseAnswers = bases.map { ids[task.answer($0)] }
            let interchangeAnswers = zip(bases, sources).map { ids[task.interchangeAnswer(base: $0, source: $1, edge: names[link])!] }
            let sourceOutputs = EdgeRun(graph: graph).senderOutputs(model, TokenBatch(sources.map { $0.map { ids[$0] } }))
            var parameters = model.parameters.map(\.tensor)
            let current = model
            var (loss, gradients) = withGradients { tape -> (Float, [Tensor]) in
                let watched = parameters.map { tape.watch($0) }
                let trained = current.replacingParameters(watched)
                let behaviour = crossEntropy(logits: trained.forward(baseBatch, logitPositions: .last).reshaped([options.batchSize, -1]),
                                             targets: baseAnswers)
                let strict = crossEntropy(logits: EdgeRun(graph: graph).logits(trained, baseBatch, source: sourceOutputs) {
                    !circuit.contains($0)
                }, targets: baseAnswers)
                let interchange = crossEntropy(logits: EdgeRun(graph: graph).logits(trained, baseBatch, source: sourceOutputs) {
                    $0 == chain[link]
                }, targets: interchangeAnswers)
                let total = behaviour + strict + interchange
                return (total.item, tape.gradients(of: total, withRespectTo: watched))
            }
            clipGlobalNorm(&gradients, maxNorm: 1)
            optimizer.update(&parameters, gradients: gradients, learningRate: schedule.learningRate(atStep: step))
            model = model.replacingParameters(parameters)
            losses.append(loss)
            progress?(step + 1, loss)
        }
        return Result(model: model, configuration: configuration, vocabulary: vocabulary, losses: losses, options: options)
    }

    /// `[batch, vocab]` logits at the last position of `base` with the edges `patched` reading their senders' outputs
    /// on `source`: the differentiable run the training losses use (the same values as ``EdgePatching/patchedLogits(_:)``).
    public static func patchedLogits(_ model: TransformerModel, base: TokenBatch, source: TokenBatch,
                                     patched: Set<ComputationGraph.Edge>) -> Tensor {
        let graph = ComputationGraph(model: model), run = EdgeRun(graph: graph)
        let keys = Set(patched.map { EdgeKey(sender: graph.index(of: $0.sender), receiver: graph.index(of: $0.receiver)) })
        return run.logits(model, base, source: run.senderOutputs(model, source)) { keys.contains($0) }
    }

    /// `count` random base prompts of the task and as many source prompts, each with another answer than its base
    /// and an answer of the high-level model under every circuit edge's interchange; as symbols.
    static func prompts(count: Int, options: Options, using generator: inout SeededGenerator) -> (bases: [[Int]], sources: [[Int]]) {
        let task = options.task, n = options.symbols
        var bases: [[Int]] = [], sources: [[Int]] = []
        for _ in 0..<count {
            let base = task.prompt(symbols: n, length: options.length, using: &generator)
            var source = task.prompt(symbols: n, length: options.length, using: &generator)
            switch task {
            case .firstSymbol:
                while source[0] == base[0] { source[0] = Int.random(in: 0..<n, using: &generator) }
            case .lookup:
                while task.answer(source) == task.answer(base) { source = task.prompt(symbols: n, length: options.length, using: &generator) }
            }
            bases.append(base)
            sources.append(source)
        }
        return (bases, sources)
    }

    /// The token id of each symbol.
    static func tokenIDs(_ options: Options, _ vocabulary: WordLevelVocabulary) -> [Int] {
        options.task.words(symbols: options.symbols).map { vocabulary.tokens.firstIndex(of: $0)! }
    }
}

/// An edge as (sender index, receiver index) of a ``ComputationGraph``.
struct EdgeKey: Hashable {
    let sender: Int
    let receiver: Int
}

/// One forward pass with chosen edges patched from a source run's sender outputs, on the gradient tape.
struct EdgeRun {
    let graph: ComputationGraph

    /// Every sender's output on `batch`, `[batch, pos, dModel]` each, in graph order.
    func senderOutputs(_ model: TransformerModel, _ batch: TokenBatch) -> [Tensor] {
        var outputs = [Tensor?](repeating: nil, count: graph.senders.count)
        _ = model.forward(batch, hooks: recording(model, into: { outputs[$0] = $1 }), logitPositions: .last)
        return outputs.map { $0! }
    }

    /// `[batch, vocab]` logits at the last position with each edge for which `patched` holds reading the source.
    func logits(_ model: TransformerModel, _ batch: TokenBatch, source: [Tensor], patched: @escaping (EdgeKey) -> Bool) -> Tensor {
        var outputs = [Tensor?](repeating: nil, count: graph.senders.count)
        let hooks = recording(model, into: { outputs[$0] = $1 })
        /// The patch added to receiver `r`'s input: Σ over its patched senders of source − current output.
        func patch(_ r: Int) -> Tensor? {
            let senders = (0..<graph.upstreamCount(of: r)).filter { patched(EdgeKey(sender: $0, receiver: r)) }
            guard let first = senders.first else { return nil }
            return senders.dropFirst().reduce(source[first] - outputs[first]!) { $0 + (source[$1] - outputs[$1]!) }
        }
        for l in 0..<model.layerCount {
            let heads = model.blocks[l].attention.heads
            let groups: [(HookPoint, (Int) -> ComputationGraph.Receiver)] = [
                (.qInput(l), { .query(layer: l, head: $0) }), (.kInput(l), { .key(layer: l, group: $0) }),
                (.vInput(l), { .value(layer: l, group: $0) })]
            for (point, receiver) in groups {
                hooks.add(point) { x, _ in
                    let patches = (0..<heads).map { patch(graph.index(of: receiver($0))) }
                    guard patches.contains(where: { $0 != nil }) else { return x }
                    let zero = Tensor.zeros([x.shape[0], x.shape[1], x.shape[3]])
                    return x + Tensor.stack(patches.map { $0 ?? zero }, axis: 2)
                }
            }
            hooks.add(.mlpIn(l)) { x, _ in patch(graph.index(of: ComputationGraph.Receiver.mlp(layer: l))).map { x + $0 } ?? x }
        }
        hooks.add(.residPost(model.layerCount - 1)) { x, _ in patch(graph.index(of: ComputationGraph.Receiver.logits)).map { x + $0 } ?? x }
        return model.forward(batch, hooks: hooks, logitPositions: .last).reshaped([batch.batchSize, -1])
    }

    /// Hooks that hand each sender's output to `record` as the forward pass computes it.
    private func recording(_ model: TransformerModel, into record: @escaping (Int, Tensor) -> Void) -> ForwardHooks {
        let hooks = ForwardHooks()
        var tokens: Tensor?
        hooks.add(.embed) { x, _ in
            tokens = x
            return x
        }
        hooks.add(.posEmbed) { x, _ in
            record(0, tokens! + x)
            return x
        }
        for l in 0..<model.layerCount {
            let first = graph.index(of: .head(layer: l, head: 0)), heads = model.blocks[l].attention.heads
            hooks.add(.result(l)) { x, _ in
                for h in 0..<heads { record(first + h, x.select(axis: 2, h)) }
                return x
            }
            let mlp = graph.index(of: ComputationGraph.Sender.mlp(layer: l))
            hooks.add(.mlpOut(l)) { x, _ in
                record(mlp, x)
                return x
            }
        }
        return hooks
    }
}
