import Foundation

extension ModelConfiguration {
    /// The configuration of a `phi3` GGUF file (Phi-3, Phi-3.5, Phi-4-mini as convert_hf_to_gguf's `Phi3MiniModel`
    /// writes them), built as the Hugging Face `phi3` family (q/k/v fused in `attn_qkv`, gate and up in `ffn_up`):
    ///
    /// - The shape as for every architecture (``GGUFDecoderShape``), default context 4096, with
    ///   `rope.dimension_count` rotated dimensions per head (Phi-4-mini rotates three quarters of each head).
    /// - `rope.freq_base` (default 10000); LongRoPE when the file holds `rope_factors_long.weight` and
    ///   `rope_factors_short.weight` (one factor per rotated pair), with the original context
    ///   `rope.scaling.original_context_length` and the attention factor `rope.scaling.attn_factor` (default
    ///   transformers' `sqrt(1 + ln(s) / ln(original))`, `s = context_length / original`). As in transformers, a pass
    ///   longer than the original context uses the long factors (llama.cpp decides once, by its context size).
    /// - `rope.scaling.type` `yarn` without the factor tensors is refused: transformers' Phi-3 reads a `yarn`
    ///   `rope_scaling` as LongRoPE, so no Hugging Face Phi-3 runs llama.cpp's YaRN.
    /// - `attention.sliding_window` is not applied: llama.cpp disables it for `phi3`, and transformers' GGUF loader
    ///   does not read it.
    /// - Tied embeddings when `output.weight` is absent; no biases; SiLU-gated MLP.
    init(phi3GGUF file: GGUFFile) throws {
        let a = "phi3"
        let shape = try GGUFDecoderShape(file, architecture: a, defaultContext: 4096, partialRotary: true)
        let rotary: RotaryEmbedding
        if file.has("rope_factors_long.weight") || file.has("rope_factors_short.weight") {
            rotary = try Self.phi3LongRoPE(file, shape: shape)
        } else if try file.string("\(a).rope.scaling.type") == "yarn" {
            throw file.metadataError("\(a).rope.scaling.type", "'yarn' is not supported for phi3: transformers' Phi-3 reads a yarn rope_scaling as LongRoPE, which needs rope_factors_long.weight and rope_factors_short.weight")
        } else {
            rotary = try Self.rotary(file, architecture: a, shape: shape)
        }
        self.init(
            family: .phi3, dModel: shape.dModel, nLayers: shape.layers, nHeads: shape.heads, nKVHeads: shape.kvHeads,
            dHead: shape.dHead, dMLP: shape.dMLP, vocabularySize: shape.vocabulary, maxPositions: shape.context,
            normEpsilon: Float(shape.epsilon), activation: .silu, positionEncoding: .rotary(rotary),
            attentionQKVBias: false, attentionOutputBias: false, mlpBias: false, tiedEmbeddings: !file.has("output.weight"),
            bosTokenIDs: try file.specialTokenIDs("bos"), eosTokenIDs: try file.specialTokenIDs("eos"),
            dtype: file.quantizationMix.dominantType?.name)
    }

    /// Phi-3's LongRoPE from the `rope_factors_short` / `rope_factors_long` tensors and the `phi3.rope.*` metadata.
    private static func phi3LongRoPE(_ file: GGUFFile, shape: GGUFDecoderShape) throws -> RotaryEmbedding {
        let pairs = shape.rotaryDimensions / 2
        let factors = try ["rope_factors_short.weight", "rope_factors_long.weight"].map { name -> [Double] in
            guard file.has(name) else {
                throw LoadingError("\(file.url.path): tensor '\(name)' is missing (LongRoPE needs both rope_factors_short and rope_factors_long)")
            }
            let values = try file.tensor(named: name).scalars
            guard values.count == pairs, values.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw LoadingError("\(file.url.path): tensor '\(name)' must hold \(pairs) positive factors (one per rotated pair), found \(values.count) values")
            }
            return values.map(Double.init)
        }
        let originalKey = "phi3.rope.scaling.original_context_length"
        guard let original = try file.integer(originalKey), original > 1 else {
            throw file.metadataError(originalKey, "must be present and above 1 for LongRoPE (rope_factors_long.weight)")
        }
        let base = try file.number("phi3.rope.freq_base") ?? 10_000
        guard base > 0 else { throw file.metadataError("phi3.rope.freq_base", "must be positive, found \(base)") }
        let scale = Double(shape.context) / Double(original)
        let attentionFactor = try file.number("phi3.rope.scaling.attn_factor")
            ?? (scale <= 1 ? 1 : (1 + Foundation.log(scale) / Foundation.log(Double(original))).squareRoot())
        guard attentionFactor > 0 else {
            throw file.metadataError("phi3.rope.scaling.attn_factor", "must be positive, found \(attentionFactor)")
        }
        return RotaryEmbedding(headDim: shape.dHead, rotaryDim: shape.rotaryDimensions, base: base, scaling: .longRoPE(
            shortFactors: factors[0], longFactors: factors[1], originalMaxPositionEmbeddings: original,
            attentionFactor: attentionFactor))
    }
}
