import Foundation

extension ModelConfiguration.GemmaVersion {
    /// The Gemma generation of a GGUF `general.architecture` (`gemma`, `gemma2`, `gemma3`), nil for other names.
    init?(ggufArchitecture: String) {
        switch ggufArchitecture {
        case "gemma": self = .gemma
        case "gemma2": self = .gemma2
        case "gemma3": self = .gemma3Text
        default: return nil
        }
    }
}

extension ModelConfiguration {
    /// The configuration of a `gemma`, `gemma2` or `gemma3` GGUF file (text model), read as llama.cpp reads it and
    /// as transformers' GGUF loader does where the two agree.
    ///
    /// - The shape as for every architecture (``GGUFDecoderShape``); `attention.key_length` is the head size.
    /// - Gemma-2 and 3: `attention.sliding_window` (default 4096) on the layers `attention.sliding_window_pattern`
    ///   marks (an integer `n`: every `n`-th layer global; or one bool per layer, true for sliding), by default
    ///   every 2nd (Gemma-2) or 6th (Gemma-3) layer global, as llama.cpp and transformers' configs place them.
    /// - Gemma-2: `attn_logit_softcapping` and `final_logit_softcapping` (defaults 50 and 30, llama.cpp's and
    ///   transformers'). Gemma 1 and 3 have no soft-capping (llama.cpp applies none to them).
    /// - Gemma-2 and 3 scale scores by `query_pre_attn_scalar^-1/2`, which GGUF does not store: 256 (transformers'
    ///   default and every released model's value), except for the 27B models (46 Gemma-2 layers, 62 Gemma-3
    ///   layers), where llama.cpp uses `embedding_length / head_count` as their configs do.
    /// - Gemma-3: `rope.freq_base` (and `rope.scaling.*`) for the global layers; the sliding-window layers rotate
    ///   with `rope.freq_base_swa`, default 10000 (llama.cpp's and transformers' `rope_local_base_freq`), unscaled.
    /// - Tied embeddings unless `output.weight` is present; q/k/v and output biases when `blk.0.attn_q.bias` /
    ///   `blk.0.attn_output.bias` are.
    ///
    /// The norm weights llama.cpp stores as `1 + weight` are shifted back by ``GGUFWeights``.
    init(gemmaGGUF file: GGUFFile, version: GemmaVersion) throws {
        let a = try file.string("general.architecture") ?? ""
        let shape = try GGUFDecoderShape(file, architecture: a, defaultContext: version == .gemma3Text ? 131_072 : 8192)
        let windows = try Self.ggufSlidingWindows(file, architecture: a, version: version, layers: shape.layers)
        var attentionSoftcap: Float?, finalSoftcap: Float?
        if version == .gemma2 {
            attentionSoftcap = Float(try Self.positiveNumber(file, "\(a).attn_logit_softcapping") ?? 50)
            finalSoftcap = Float(try Self.positiveNumber(file, "\(a).final_logit_softcapping") ?? 30)
        }
        let largest = version == .gemma2 ? 46 : 62
        let queryScalar = shape.layers == largest ? Double(shape.dModel) / Double(shape.heads) : 256
        var local: RotaryEmbedding?
        if version == .gemma3Text {
            local = RotaryEmbedding(headDim: shape.dHead, base: try Self.positiveNumber(file, "\(a).rope.freq_base_swa") ?? 10_000)
        }
        let bias = file.has("blk.0.attn_q.bias")
        self.init(
            family: .gemma(version), dModel: shape.dModel, nLayers: shape.layers, nHeads: shape.heads,
            nKVHeads: shape.kvHeads, dHead: shape.dHead, dMLP: shape.dMLP, vocabularySize: shape.vocabulary,
            maxPositions: shape.context, normEpsilon: Float(shape.epsilon), activation: .geluTanh,
            positionEncoding: .rotary(try Self.rotary(file, architecture: a, shape: shape)),
            attentionQKVBias: bias, attentionOutputBias: file.has("blk.0.attn_output.bias"), mlpBias: false,
            qkNorm: version == .gemma3Text, tiedEmbeddings: !file.has("output.weight"), slidingWindows: windows,
            bosTokenIDs: try file.specialTokenIDs("bos"), eosTokenIDs: try file.specialTokenIDs("eos"),
            dtype: file.quantizationMix.dominantType?.name,
            attentionSoftcap: attentionSoftcap, finalLogitSoftcap: finalSoftcap,
            queryPreAttentionScalar: version == .gemma ? nil : queryScalar, slidingWindowRotary: local)
    }

    /// A number that must be positive when present.
    private static func positiveNumber(_ file: GGUFFile, _ key: String) throws -> Double? {
        guard let value = try file.number(key) else { return nil }
        guard value > 0 else { throw file.metadataError(key, "must be positive, found \(value)") }
        return value
    }

    /// Per layer, the window of a sliding-window layer or nil for a global one.
    private static func ggufSlidingWindows(_ file: GGUFFile, architecture a: String, version: GemmaVersion,
                                           layers: Int) throws -> [Int?] {
        guard version != .gemma else { return Array(repeating: nil, count: layers) }
        let window = try file.integer("\(a).attention.sliding_window") ?? 4096
        guard window > 0 else { throw file.metadataError("\(a).attention.sliding_window", "must be positive, found \(window)") }
        let key = "\(a).attention.sliding_window_pattern"
        let sliding: [Bool]
        if file.metadata[key]?.array != nil {
            sliding = try file.array(key, of: "bools", \.bool)!
            guard sliding.count == layers else { throw file.metadataError(key, "has \(sliding.count) entries for \(layers) layers") }
        } else {
            let period = try file.integer(key) ?? (version == .gemma2 ? 2 : 6)
            guard period > 0 else { throw file.metadataError(key, "must be positive, found \(period)") }
            sliding = (0..<layers).map { ($0 + 1) % period != 0 }
        }
        return sliding.map { $0 ? window : nil }
    }
}
