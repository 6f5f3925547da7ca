import Foundation

extension ModelConfiguration {
    /// The configuration of a `gpt2` GGUF file (as convert_hf_to_gguf's `GPT2Model` writes it), read as llama.cpp
    /// reads it: the shape as for every architecture (``GGUFDecoderShape``) with the LayerNorm epsilon
    /// `attention.layer_norm_epsilon`, `context_length` learned positions (the rows of `position_embd.weight`,
    /// default 1024), every head its own key and value, GELU with the tanh approximation, biases on every
    /// projection; tied embeddings when `output.weight` is absent (the converter writes a copy of the embedding).
    init(gpt2GGUF file: GGUFFile) throws {
        let shape = try GGUFDecoderShape(file, architecture: "gpt2", defaultContext: 1024, epsilonKey: "layer_norm_epsilon")
        guard shape.kvHeads == shape.heads else {
            throw file.metadataError("gpt2.attention.head_count_kv", "\(shape.kvHeads) differs from the head count \(shape.heads); GPT-2 has no grouped-query attention")
        }
        self.init(
            family: .gpt2, dModel: shape.dModel, nLayers: shape.layers, nHeads: shape.heads, dMLP: shape.dMLP,
            vocabularySize: shape.vocabulary, maxPositions: shape.context, normEpsilon: Float(shape.epsilon),
            activation: .geluTanh, positionEncoding: .learned, attentionQKVBias: true, attentionOutputBias: true,
            mlpBias: true, tiedEmbeddings: !file.has("output.weight"),
            bosTokenIDs: try file.specialTokenIDs("bos"), eosTokenIDs: try file.specialTokenIDs("eos"),
            dtype: file.quantizationMix.dominantType?.name)
    }
}
