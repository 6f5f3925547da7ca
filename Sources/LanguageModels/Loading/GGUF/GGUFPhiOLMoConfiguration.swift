import Foundation

extension ModelConfiguration {
    /// The configuration of a `phi2` GGUF file (Phi-1, Phi-1.5, Phi-2 as convert_hf_to_gguf's `Phi2Model` writes
    /// them), read as llama.cpp reads it: the shape as for every architecture (``GGUFDecoderShape``) with the
    /// LayerNorm epsilon `attention.layer_norm_epsilon`, `rope.dimension_count` rotated dimensions per head (partial
    /// rotary), `rope.freq_base` (default 10000; the converter writes none), GELU with the tanh approximation, the
    /// parallel block, biases on every projection and on the unembedding, no q/k permutation.
    ///
    /// Older conversions fuse q, k and v into `attn_qkv` (taken apart by ``GGUFWeights``).
    init(phi2GGUF file: GGUFFile) throws {
        let shape = try GGUFDecoderShape(file, architecture: "phi2", defaultContext: 2048, epsilonKey: "layer_norm_epsilon",
                                         partialRotary: true)
        self.init(
            family: .phi, dModel: shape.dModel, nLayers: shape.layers, nHeads: shape.heads, nKVHeads: shape.kvHeads,
            dHead: shape.dHead, dMLP: shape.dMLP, vocabularySize: shape.vocabulary, maxPositions: shape.context,
            normEpsilon: Float(shape.epsilon), activation: .geluTanh,
            positionEncoding: .rotary(try Self.rotary(file, architecture: "phi2", shape: shape)),
            attentionQKVBias: true, attentionOutputBias: true, mlpBias: true, tiedEmbeddings: !file.has("output.weight"),
            bosTokenIDs: try file.specialTokenIDs("bos"), eosTokenIDs: try file.specialTokenIDs("eos"),
            dtype: file.quantizationMix.dominantType?.name, parallelResidual: true)
    }

    /// The configuration of an `olmo` GGUF file (OLMo v1 as convert_hf_to_gguf's `OlmoModel` writes it), read as
    /// llama.cpp reads it: the shape as for every architecture with the epsilon of the weightless LayerNorms
    /// `attention.layer_norm_epsilon`, q/k/v clipped to `attention.clamp_kqv` when present, SiLU-gated MLP, rotary
    /// positions (`rope.freq_base`), q/k rows permuted as for `llama` (undone by ``GGUFWeights``), attention biases
    /// when `blk.0.attn_q.bias` (and `blk.0.attn_output.bias`) are present, tied embeddings without `output.weight`.
    init(olmoGGUF file: GGUFFile) throws {
        let shape = try GGUFDecoderShape(file, architecture: "olmo", defaultContext: 2048, epsilonKey: "layer_norm_epsilon")
        let clip = try file.number("olmo.attention.clamp_kqv")
        if let clip, !(clip > 0) { throw file.metadataError("olmo.attention.clamp_kqv", "must be positive, found \(clip)") }
        let bias = file.has("blk.0.attn_q.bias")
        self.init(
            family: .olmo, dModel: shape.dModel, nLayers: shape.layers, nHeads: shape.heads, nKVHeads: shape.kvHeads,
            dHead: shape.dHead, dMLP: shape.dMLP, vocabularySize: shape.vocabulary, maxPositions: shape.context,
            normEpsilon: Float(shape.epsilon), activation: .silu,
            positionEncoding: .rotary(try Self.rotary(file, architecture: "olmo", shape: shape)),
            attentionQKVBias: bias, attentionOutputBias: file.has("blk.0.attn_output.bias"), mlpBias: false,
            tiedEmbeddings: !file.has("output.weight"),
            bosTokenIDs: try file.specialTokenIDs("bos"), eosTokenIDs: try file.specialTokenIDs("eos"),
            dtype: file.quantizationMix.dominantType?.name, clipQKV: clip.map { Float($0) })
    }

    /// The configuration of an `olmo2` GGUF file (OLMo-2 as convert_hf_to_gguf's `Olmo2Model` writes it), read as
    /// llama.cpp reads it: the shape as for every architecture, RMSNorms after attention and after the MLP
    /// (`post_attention_norm`, `post_ffw_norm`) and over the whole q and k projections (`attn_q_norm`, `attn_k_norm`),
    /// SiLU-gated MLP, rotary positions (`rope.freq_base`), q/k rows as Hugging Face stores them (not permuted),
    /// attention biases when `blk.0.attn_q.bias` is present, tied embeddings without `output.weight`.
    ///
    /// OLMo-3 files, which the converter also writes as `olmo2`, have `attention.sliding_window`: they are family
    /// ``ModelConfiguration/Family/olmo3`` with the windows ``olmo2GGUFSlidingWindows(_:layers:)`` places, the
    /// sliding layers rotating with plain rotary positions of base `rope.freq_base_swa` (default `rope.freq_base`,
    /// no scaling, as llama.cpp does), the full-attention ones with the file's rotary embedding, YaRN included
    /// (OLMo-3's long-context scaling, which llama.cpp and transformers' Olmo3 both apply to those layers only).
    init(olmo2GGUF file: GGUFFile) throws {
        let window = try file.integer("olmo2.attention.sliding_window")
        if let window, window <= 0 { throw file.metadataError("olmo2.attention.sliding_window", "must be positive, found \(window)") }
        let shape = try GGUFDecoderShape(file, architecture: "olmo2", defaultContext: 4096)
        let windows = try window.map { try Self.olmo2GGUFSlidingWindows(file, window: $0, layers: shape.layers) }
        let slidingBase = try file.number("olmo2.rope.freq_base_swa") ?? file.number("olmo2.rope.freq_base") ?? 10_000
        guard slidingBase > 0 else { throw file.metadataError("olmo2.rope.freq_base_swa", "must be positive, found \(slidingBase)") }
        let bias = file.has("blk.0.attn_q.bias")
        self.init(
            family: windows == nil ? .olmo2 : .olmo3, dModel: shape.dModel, nLayers: shape.layers, nHeads: shape.heads,
            nKVHeads: shape.kvHeads, dHead: shape.dHead, dMLP: shape.dMLP, vocabularySize: shape.vocabulary,
            maxPositions: shape.context, normEpsilon: Float(shape.epsilon), activation: .silu,
            positionEncoding: .rotary(try Self.rotary(file, architecture: "olmo2", shape: shape)),
            attentionQKVBias: bias, attentionOutputBias: bias, mlpBias: false, qkNorm: true,
            tiedEmbeddings: !file.has("output.weight"), slidingWindows: windows,
            bosTokenIDs: try file.specialTokenIDs("bos"), eosTokenIDs: try file.specialTokenIDs("eos"),
            dtype: file.quantizationMix.dominantType?.name,
            slidingWindowRotary: windows == nil ? nil : RotaryEmbedding(headDim: shape.dHead, base: slidingBase))
    }

    /// The sliding window of each layer of an OLMo-3 `olmo2` file, as llama.cpp places it: `window` on the layers that
    /// `attention.sliding_window_pattern` marks, one bool per layer (what convert_hf_to_gguf writes from `layer_types`)
    /// or a period `n` (layer `l` slides unless `l % n == n - 1`; 0: every layer), default period 4 (every 4th layer
    /// full, transformers' default for OLMo-3). Throws naming the key for a pattern of another length or type.
    static func olmo2GGUFSlidingWindows(_ file: GGUFFile, window: Int, layers: Int) throws -> [Int?] {
        let key = "olmo2.attention.sliding_window_pattern"
        let sliding: [Bool]
        if file.metadata[key]?.array != nil {
            sliding = try file.array(key, of: "bools", \.bool)!
            guard sliding.count == layers else { throw file.metadataError(key, "has \(sliding.count) entries for \(layers) layers") }
        } else {
            let period = try file.integer(key) ?? 4
            guard period >= 0 else { throw file.metadataError(key, "must be a non-negative period, found \(period)") }
            sliding = (0..<layers).map { period == 0 || $0 % period < period - 1 }
        }
        return sliding.map { $0 ? window : nil }
    }
}
