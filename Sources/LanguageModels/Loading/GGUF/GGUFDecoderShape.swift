import Foundation

/// The shape every decoder GGUF file states under `<architecture>.*` (as transformers' GGUF loader reads it): block
/// count, widths, heads, head size, rotated dimensions, vocabulary, context length and norm epsilon, checked with
/// errors naming the file and the key. The block count is at most ``ConfigurationChecker/maximumLayers`` and the widths
/// at most ``ConfigurationChecker/maximumWidth``.
struct GGUFDecoderShape {
    let layers: Int
    let dModel: Int
    let heads: Int
    let kvHeads: Int
    let dHead: Int
    /// The rotated dimensions of each head (`rope.dimension_count`, default the head size).
    let rotaryDimensions: Int
    let dMLP: Int
    let vocabulary: Int
    let context: Int
    let epsilon: Double

    /// Reads the shape of `file` under the `architecture` prefix; `defaultContext` when `context_length` is absent.
    /// The norm epsilon is `attention.<epsilonKey>` (RMSNorm's by default); `partialRotary` allows
    /// `rope.dimension_count` below the head size.
    init(_ file: GGUFFile, architecture a: String, defaultContext: Int, epsilonKey: String = "layer_norm_rms_epsilon",
         partialRotary: Bool = false) throws {
        layers = try file.positiveInteger("\(a).block_count")
        guard layers <= ConfigurationChecker.maximumLayers else {
            throw file.metadataError("\(a).block_count", "is \(layers), more than \(ConfigurationChecker.maximumLayers) layers; the file is corrupt")
        }
        dModel = try file.positiveInteger("\(a).embedding_length")
        heads = try file.uniformInteger("\(a).attention.head_count", layers: layers) ?? 0
        guard heads > 0 else { throw file.metadataError("\(a).attention.head_count", "must be present and positive") }
        kvHeads = try file.uniformInteger("\(a).attention.head_count_kv", layers: layers) ?? heads
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw file.metadataError("\(a).attention.head_count_kv", "\(kvHeads) must be positive and divide the head count \(heads)")
        }
        guard let dMLP = try file.uniformInteger("\(a).feed_forward_length", layers: layers), dMLP > 0 else {
            throw file.metadataError("\(a).feed_forward_length", "must be present and positive")
        }
        self.dMLP = dMLP
        let keyLength = try file.integer("\(a).attention.key_length")
        dHead = keyLength ?? dModel / heads
        guard dHead > 0, dHead % 2 == 0, keyLength != nil || dModel % heads == 0 else {
            throw file.metadataError("\(a).attention.key_length", "gives head size \(dHead); it must be positive and even (embedding_length \(dModel) / heads \(heads))")
        }
        if let valueLength = try file.integer("\(a).attention.value_length"), valueLength != dHead {
            throw file.metadataError("\(a).attention.value_length", "\(valueLength) differs from the key length \(dHead); not supported")
        }
        let rotated = try file.integer("\(a).rope.dimension_count")
        if let rotated, rotated != dHead, !partialRotary {
            throw file.metadataError("\(a).rope.dimension_count", "\(rotated) rotates part of each \(dHead)-wide head; partial rotary is not supported for \(a)")
        }
        if let rotated, !(rotated > 0 && rotated % 2 == 0 && rotated <= dHead) {
            throw file.metadataError("\(a).rope.dimension_count", "\(rotated) must be positive, even and at most the head size \(dHead)")
        }
        rotaryDimensions = rotated ?? dHead
        vocabulary = try Self.vocabularySize(file, architecture: a)
        context = try file.integer("\(a).context_length") ?? defaultContext
        guard context > 0 else { throw file.metadataError("\(a).context_length", "must be positive, found \(context)") }
        guard let epsilon = try file.number("\(a).attention.\(epsilonKey)"), epsilon > 0 else {
            throw file.metadataError("\(a).attention.\(epsilonKey)", "must be present and positive")
        }
        self.epsilon = epsilon
        for (value, key) in [(dModel, "embedding_length"), (heads, "attention.head_count"), (dHead, "attention.key_length"),
                             (dMLP, "feed_forward_length"), (vocabulary, "vocab_size")]
        where value > ConfigurationChecker.maximumWidth {
            throw file.metadataError("\(a).\(key)", "gives \(value), more than \(ConfigurationChecker.maximumWidth); the file is corrupt")
        }
    }

    /// `<arch>.vocab_size`, else the length of `tokenizer.ggml.tokens`, else the rows of `token_embd.weight`.
    private static func vocabularySize(_ file: GGUFFile, architecture: String) throws -> Int {
        if let size = try file.integer("\(architecture).vocab_size") {
            guard size > 0 else { throw file.metadataError("\(architecture).vocab_size", "must be positive, found \(size)") }
            return size
        }
        if let tokens = file.metadata["tokenizer.ggml.tokens"]?.array, !tokens.isEmpty { return tokens.count }
        guard let embedding = file.tensorInfos["token_embd.weight"], embedding.dimensions.count == 2 else {
            throw file.metadataError("\(architecture).vocab_size", "is missing and the file has neither tokenizer.ggml.tokens nor token_embd.weight")
        }
        return embedding.dimensions[1]
    }
}
