import Foundation
import Tensors

/// A model directory loaded for use: the transformer, its tokenizer and its configuration.
///
/// ```swift
/// let lm = try LanguageModel.load(from: URL(fileURLWithPath: "models/gpt2"))
/// let logits = lm.model.forward(TokenBatch([try lm.tokens("The capital of France is")]))
/// ```
public struct LanguageModel {
    public let directory: URL
    public let configuration: ModelConfiguration
    public let model: TransformerModel
    public let tokenizer: any Tokenizer

    public init(directory: URL, configuration: ModelConfiguration, model: TransformerModel, tokenizer: any Tokenizer) {
        self.directory = directory
        self.configuration = configuration
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Loads `config.json`, the safetensors weights and `tokenizer.json` from `directory`, or a llama.cpp GGUF
    /// file when `directory` names a file (``load(gguf:computePrecision:)``).
    ///
    /// With `computePrecision` ``ComputePrecision/bfloat16``, products with bfloat16 and float16 weights (safetensors,
    /// GGUF F16/BF16) round their activations, and float16 weights, to bfloat16 (as PyTorch runs a bfloat16 model);
    /// `Float` and quantized weights compute in `Float`.
    ///
    /// - Throws: ``LoadingError`` when bfloat16 compute is asked of a model with no bfloat16 or float16 matrix.
    public static func load(from directory: URL, computePrecision: ComputePrecision = .float32) throws -> LanguageModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw LoadingError("\(directory.path): no such model directory or GGUF file (expected a directory with config.json, *.safetensors and tokenizer.json, or a .gguf file)")
        }
        guard isDirectory.boolValue else { return try load(gguf: directory, computePrecision: computePrecision) }
        let checkpoint = try Checkpoint(directory: directory, computePrecision: computePrecision)
        if computePrecision == .bfloat16 && !checkpoint.weights.hasHalfPrecisionMatrix {
            throw LoadingError("\(directory.path): bfloat16 compute applies to bfloat16 and float16 matrices, and this "
                               + "checkpoint has none (its matrices are float32 or quantized, which compute in float32)")
        }
        return LanguageModel(directory: directory, configuration: checkpoint.configuration,
                             model: try TransformerModel.load(checkpoint), tokenizer: try loadTokenizer(from: directory))
    }

    /// The token ids of a prompt, with the tokenizer's special tokens (such as BOS) when it adds them.
    ///
    /// - Throws: ``PromptError`` when the prompt is empty or longer than the model's context.
    public func tokens(_ text: String, addSpecialTokens: Bool = true) throws -> [Int] {
        guard !text.isEmpty else { throw PromptError.empty }
        let ids = try tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
        guard !ids.isEmpty else { throw PromptError.empty }
        guard ids.count <= model.contextLength else {
            throw PromptError.tooLong(tokens: ids.count, contextLength: model.contextLength)
        }
        if let bad = ids.first(where: { $0 < 0 || $0 >= model.vocabularySize }) {
            throw PromptError.tokenOutOfRange(id: bad, vocabularySize: model.vocabularySize)
        }
        return ids
    }

    /// The id of a text that must be exactly one token (an answer such as `" Paris"`), or a token id
    /// written as `#123`; `role` names the value in the error when it is several tokens (`"--answer"`).
    public func singleToken(_ text: String, role: String = "the answer") throws -> Int {
        if text.hasPrefix("#"), let id = Int(text.dropFirst()) {
            guard id >= 0 && id < model.vocabularySize else { throw PromptError.tokenOutOfRange(id: id, vocabularySize: model.vocabularySize) }
            return id
        }
        let ids = try tokenizer.encode(text, addSpecialTokens: false)
        guard ids.count == 1 else {
            throw PromptError.notSingleToken(text: text, role: role, explanation: OneTokenAnswer.explanation(
                of: text, ids: ids, encode: { try tokenizer.encode($0, addSpecialTokens: false) },
                tokenName: { tokenizer.idToToken($0) ?? "#\($0)" }))
        }
        return ids[0]
    }

    /// The text of one token, as decoding it alone gives.
    public func text(of token: Int) -> String {
        tokenizer.decode([token], skipSpecialTokens: false)
    }
}

/// A prompt or answer the model cannot take.
public enum PromptError: Error, CustomStringConvertible, Equatable {
    case empty
    case tooLong(tokens: Int, contextLength: Int)
    /// `explanation` lists the pieces and the one-token spelling (``OneTokenAnswer/explanation(of:ids:encode:tokenName:)``).
    case notSingleToken(text: String, role: String, explanation: String)
    case tokenOutOfRange(id: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case .empty: return "the prompt is empty"
        case let .tooLong(tokens, context): return "the prompt has \(tokens) tokens but the model's context is \(context)"
        case let .notSingleToken(_, role, explanation):
            return "\(role): \(explanation); it must be one token (or a token id written #id)"
        case let .tokenOutOfRange(id, vocab):
            return "token id \(id) is outside the model's vocabulary of \(vocab) (does tokenizer.json belong to this model?)"
        }
    }
}
