import ArgumentParser
import Circuits
import Foundation
import Reports

/// `interp info`: what a model directory holds.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show a model's architecture, sizes and dtype.",
        discussion: "Example: interp info --model ~/models/gpt2")

    @OptionGroup var model: ModelOptions
    @OptionGroup var output: OutputOptions

    struct Info: Encodable {
        let directory: String, family: String, layers: Int, heads: Int, kvHeads: Int, dModel: Int, dHead: Int, dMLP: Int
        let vocabulary: Int, contextLength: Int, dtype: String, quantization: String?, parameters: Int, hookPoints: Int
        let options: [String]
        /// For a GGUF file: per tensor type, how many tensors and bytes.
        let ggufTensorTypes: [GGUFTensorTypeShare]?
    }

    struct GGUFTensorTypeShare: Encodable { let type: String, tensors: Int, bytes: Int }

    func run() throws {
        let lm = try model.load()
        let c = lm.configuration
        let family = c.family.modelType
        let parameters = lm.model.parameterCount
        let mix = try ggufMix(lm.directory)
        let info = Info(directory: lm.directory.path, family: family, layers: c.nLayers, heads: c.nHeads, kvHeads: c.nKVHeads,
                        dModel: c.dModel, dHead: c.dHead, dMLP: c.dMLP, vocabulary: c.vocabularySize, contextLength: c.maxPositions,
                        dtype: c.dtype ?? "float32", quantization: c.quantization.map(Self.quantizationLabel),
                        parameters: parameters, hookPoints: lm.model.hookNames.count, options: c.optionsInForce,
                        ggufTensorTypes: mix?.shares.map { GGUFTensorTypeShare(type: $0.type.name, tensors: $0.tensorCount, bytes: $0.byteCount) })
        if output.json { return try Output.json(info) }
        print("""
        \(info.directory)
          family        \(family)\(info.quantization.map { " (\($0))" } ?? "")
          layers        \(c.nLayers)
          heads         \(c.nHeads) query, \(c.nKVHeads) key-value, d_head \(c.dHead)
          d_model       \(c.dModel), d_mlp \(c.dMLP)
          vocabulary    \(c.vocabularySize)
          context       \(c.maxPositions)
          dtype         \(info.dtype)
          parameters    \(parameters)
          hook points   \(info.hookPoints)
          options       \(info.options.joined(separator: "\n                "))
        """)
        if let mix { print("  GGUF types    \(mix.summary)") }
    }

    /// How the weights are quantized, e.g. `MLX 4-bit, group 64`, `MLX mxfp8`, `FP8 E4M3, blocks 128x128`.
    static func quantizationLabel(_ q: MLXQuantization) -> String {
        if let fp8 = q.fp8 {
            return "FP8 E4M3, " + (fp8.weightBlockSize.map { "blocks \($0.map(String.init).joined(separator: "x"))" } ?? "one scale per weight")
        }
        return q.defaultMode == .affine ? "MLX \(q.bits)-bit, group \(q.groupSize)" : "MLX \(q.defaultMode.rawValue)"
    }

    /// The tensor-type mix of a GGUF model file, nil for a model directory.
    private func ggufMix(_ url: URL) throws -> GGUFQuantizationMix? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        return try GGUFFile(contentsOf: url).quantizationMix
    }
}

/// `interp tokenize`: how a text splits into tokens.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Show the tokens of a text.",
        discussion: "Example: interp tokenize --model ~/models/gpt2 --text \"Hello world\"")

    @OptionGroup var model: ModelOptions
    @Option(help: "The text to tokenize.") var text: String
    @Flag(help: "Do not add the tokenizer's special tokens (BOS, ...).") var noSpecialTokens = false
    @OptionGroup var output: OutputOptions

    struct Token: Encodable { let id: Int; let token: String; let text: String }

    func run() throws {
        let lm = try model.load()
        let ids = try lm.tokenizer.encode(text, addSpecialTokens: !noSpecialTokens)
        let tokens = ids.map { Token(id: $0, token: lm.tokenizer.idToToken($0) ?? "", text: lm.text(of: $0)) }
        if output.json { return try Output.json(["tokens": tokens]) }
        for token in tokens { print(String(format: "%8d  ", token.id) + Markup.visibleToken(token.text)) }
        print("\(ids.count) tokens")
    }
}

/// `interp run`: next-token predictions.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Predict the next token of a prompt.",
        discussion: """
        Examples:
          interp run --model ~/models/gpt2 --prompt "The capital of France is" --top-k 5
          interp run --model ~/models/gpt2 --prompt "The capital of France is" --intervene 'blocks.9.attn.hook_z[heads=6,9]:zero'
        """)

    @OptionGroup var model: ModelOptions
    @Option(help: "The prompt.") var prompt: String
    @Option(name: .customLong("top-k"), help: "How many predictions to show.") var topK = 10
    @Flag(help: "With --json, include the full last-position logits.") var logits = false
    @OptionGroup var interventions: InterventionOptions
    @OptionGroup var output: OutputOptions

    struct Prediction: Encodable { let token: Int; let text: String; let probability: Float; let logit: Float }
    struct Result: Encodable { let prompt: String; let tokens: [Int]; let predictions: [Prediction]; let logits: [Float]? }

    func validate() throws { if topK < 1 { throw ValidationError("--top-k must be at least 1") } }

    func run() throws {
        let lm = try model.load()
        let ids = try lm.tokens(prompt)
        let changes = try interventions.interventions(for: lm, positions: ids.count)
        let last = try lm.model.run(TokenBatch([ids]), interventions: changes, logitPositions: .last).logits.reshaped([-1])
        try NumericCheck.finite(last, what: "logits") { lm.model.firstNonFiniteActivation(TokenBatch([ids])) }
        let probabilities = last.softmax(axis: -1)
        let top = probabilities.topK(Swift.min(topK, lm.model.vocabularySize))
        let predictions = zip(top.indices[0], top.values.scalars).map {
            Prediction(token: $0, text: lm.text(of: $0), probability: $1, logit: last.scalars[$0])
        }
        if output.json {
            return try Output.json(Result(prompt: prompt, tokens: ids, predictions: predictions, logits: logits ? last.scalars : nil))
        }
        for p in predictions {
            print(String(format: "%6.2f%%  %9.4f  ", 100 * p.probability, p.logit) + Markup.visibleToken(p.text))
        }
    }
}

/// `interp generate`: continue a prompt.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Continue a prompt with a key-value cache (greedy or sampled).",
        discussion: """
        Examples:
          interp generate --model ~/models/gpt2 --prompt "Once upon a time" --max-tokens 20 --temperature 0.8 --top-p 0.95
          interp generate --model ~/models/gpt2 --prompt "I hate you because" --steer blocks.6.hook_resid_pre \\
            --steer-plus "Love" --steer-minus "Hate" --steer-coefficient 5
        """)

    @OptionGroup var model: ModelOptions
    @Option(help: "The prompt.") var prompt: String
    @Option(help: "The most tokens to add.") var maxTokens = 32
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 0
    @Option(name: .customLong("top-k"), help: "Sample among the k most likely tokens.") var topK: Int?
    @Option(name: .customLong("top-p"), help: "Sample from the smallest set of tokens with this much probability.") var topP: Float?
    @Option(help: "Random seed for sampling.") var seed: UInt64 = 0
    @OptionGroup var interventions: InterventionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if temperature < 0 { throw ValidationError("--temperature must not be negative") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
    }

    func run() throws {
        let lm = try model.load()
        let ids = try lm.tokens(prompt)
        let sampler = Sampler(temperature: temperature, topK: topK, topP: topP, seed: seed)
        let stop = Set([lm.tokenizer.eosTokenID].compactMap { $0 })
        let hooks = ForwardHooks()
        try lm.model.register(try interventions.interventions(for: lm, positions: ids.count + maxTokens), on: hooks)
        let generated = lm.model.generate(TokenBatch([ids]), maxTokens: maxTokens, sampler: sampler, stopTokens: stop, hooks: hooks)[0]
        let text = lm.tokenizer.decode(generated, skipSpecialTokens: true)
        if output.json { return try Output.json(["prompt": prompt, "completion": text]) }
        print(prompt + text)
    }
}

/// Refusing NaN or infinite values instead of printing them as results.
enum NumericCheck {
    /// Throws when `tensor` holds NaN or infinity, naming the hook point where it first appeared.
    static func finite(_ tensor: Tensor, what: String, locate: () -> (hook: String, index: Int, value: Float)?) throws {
        guard let index = tensor.scalars.firstIndex(where: { !$0.isFinite }) else { return }
        var message = "\(what) contain \(tensor.scalars[index]) at flat index \(index)"
        if let origin = locate() {
            message += "; it first appears at \(origin.hook) (value \(origin.value) at flat index \(origin.index))"
        }
        throw CLIError(message + ": check the checkpoint's weights (e.g. an fp16 overflow) or the inputs")
    }
}
