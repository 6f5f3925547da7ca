import Foundation
import Tensors

extension ModelConfiguration {
    /// The architectures (`general.architecture`) whose GGUF files this library builds.
    public static let supportedGGUFArchitectures = ["llama", "qwen2", "qwen3", "smollm3", "gemma", "gemma2", "gemma3", "phi2", "phi3", "olmo", "olmo2", "olmoe", "qwen2moe", "qwen3moe", "mistral3", "gpt2"]

    /// The configuration of a GGUF file, from its `<architecture>.*` metadata (as transformers' GGUF loader reads
    /// it; Gemma files as ``init(gemmaGGUF:version:)`` describes): context length, widths, block count, heads,
    /// rotary base and scaling, RMSNorm epsilon, vocabulary size; q/k/v and MLP biases and tied embeddings from the
    /// tensors present (no `output.weight`: tied).
    ///
    /// Throws naming the file and the metadata key for a missing or unsupported value.
    public init(gguf file: GGUFFile) throws {
        guard let architecture = try file.string("general.architecture") else {
            throw file.metadataError("general.architecture", "is missing")
        }
        if let version = GemmaVersion(ggufArchitecture: architecture) {
            self = try Self(gemmaGGUF: file, version: version)
            return
        }
        switch architecture {
        case "llama":
            let experts = file.metadata["llama.expert_count"] != nil || file.metadata["llama.expert_used_count"] != nil
            let variant: LlamaVariant = experts ? .mixtral
                : try file.number("llama.attention.sliding_window") != nil ? .mistral : .llama
            self = try Self(llamaGGUF: file, variant: variant)
        case "qwen2": self = try Self(llamaGGUF: file, variant: .qwen2)
        case "qwen3": self = try Self(llamaGGUF: file, variant: .qwen3)
        case "qwen2moe": self = try Self(llamaGGUF: file, variant: .qwen2MoE)
        case "qwen3moe": self = try Self(llamaGGUF: file, variant: .qwen3MoE)
        case "smollm3": self = try Self(llamaGGUF: file, variant: .smollm3)
        case "mistral3": self = try Self(llamaGGUF: file, variant: .ministral3)
        case "phi2": self = try Self(phi2GGUF: file)
        case "phi3": self = try Self(phi3GGUF: file)
        case "olmo": self = try Self(olmoGGUF: file)
        case "olmo2": self = try Self(olmo2GGUF: file)
        case "olmoe": self = try Self(olmoeGGUF: file)
        case "gpt2": self = try Self(gpt2GGUF: file)
        default:
            throw file.metadataError("general.architecture", "'\(architecture)' is not supported yet (supported: \(Self.supportedGGUFArchitectures.joined(separator: ", ")))")
        }
    }

    /// The configuration of a Llama-family GGUF file (`llama`, also Mistral when it has a sliding window and Mixtral
    /// when it has `llama.expert_count`: a mixture of experts whose chosen probabilities are renormalized by default,
    /// as llama.cpp's `llama` always does; `qwen2`, `qwen3`, `smollm3`; the Qwen mixtures `qwen2moe` and `qwen3moe`,
    /// ``qwenGGUFMixture(_:architecture:shape:)``; Ministral 3 as `mistral3`, its queries scaled by position as
    /// ``ggufQueryScaling(_:architecture:context:)`` reads it).
    private init(llamaGGUF file: GGUFFile, variant: LlamaVariant) throws {
        let a = [.mistral, .mixtral].contains(variant) ? "llama"
            : variant == .ministral3 ? "mistral3" : variant.rawValue.replacingOccurrences(of: "_", with: "")
        let shape = try GGUFDecoderShape(file, architecture: a, defaultContext: 2048)
        let mixture = variant == .mixtral ? try Self.ggufMixture(file, architecture: a, defaultNormalization: true)
            : [.qwen2MoE, .qwen3MoE].contains(variant) ? try Self.qwenGGUFMixture(file, architecture: a, shape: shape) : nil
        let window = try file.integer("\(a).attention.sliding_window")
        if let window, window <= 0 { throw file.metadataError("\(a).attention.sliding_window", "must be positive, found \(window)") }
        func has(_ name: String) -> Bool { file.has(name) }
        var rotary = try Self.rotary(file, architecture: a, shape: shape)
        if variant == .ministral3 { rotary.queryScaling = try Self.ggufQueryScaling(file, architecture: a, context: shape.context) }
        self.init(
            family: .llama(variant), dModel: shape.dModel, nLayers: shape.layers, nHeads: shape.heads,
            nKVHeads: shape.kvHeads, dHead: shape.dHead,
            dMLP: variant == .mixtral ? try Self.expertWidth(file, architecture: a, shape: shape) : shape.dMLP, vocabularySize: shape.vocabulary,
            maxPositions: shape.context, normEpsilon: Float(shape.epsilon), activation: .silu,
            positionEncoding: .rotary(rotary),
            attentionQKVBias: [.qwen2, .qwen2MoE].contains(variant) || has("blk.0.attn_q.bias"),
            attentionOutputBias: has("blk.0.attn_output.bias"), mlpBias: has("blk.0.ffn_up.bias"),
            qkNorm: [.qwen3, .qwen3MoE].contains(variant), tiedEmbeddings: !has("output.weight"),
            slidingWindows: Array(repeating: [.mistral, .mixtral].contains(variant) ? window : nil, count: shape.layers),
            bosTokenIDs: try file.specialTokenIDs("bos"), eosTokenIDs: try file.specialTokenIDs("eos"),
            dtype: file.quantizationMix.dominantType?.name,
            noRotaryLayers: variant == .smollm3 ? Self.llamaCppNoRotaryLayers(count: shape.layers) : [], mixture: mixture)
    }

    /// SmolLM3's NoPE layers as llama.cpp places them: no metadata key says which; llama.cpp leaves rotary out of
    /// every 4th layer (`n_no_rope_layer_step = 4`), transformers' default `no_rope_layer_interval`.
    static func llamaCppNoRotaryLayers(count: Int) -> Set<Int> {
        Set((0..<count).filter { ($0 + 1) % 4 == 0 })
    }

    /// The rotary embedding of heads of `shape`'s size, rotating its `rotaryDimensions`: `rope.freq_base`, linear
    /// scaling (`rope.scaling.type` `linear` or the older `rope.scale_linear`), YaRN (`rope.scaling.type` `yarn`,
    /// ``ggufYaRN(_:architecture:context:)``), or Llama 3's schedule recovered from the `rope_freqs.weight` factors
    /// llama.cpp stores.
    static func rotary(_ file: GGUFFile, architecture a: String, shape: GGUFDecoderShape) throws -> RotaryEmbedding {
        let base = try file.number("\(a).rope.freq_base") ?? 10_000
        guard base > 0 else { throw file.metadataError("\(a).rope.freq_base", "must be positive, found \(base)") }
        let (dHead, rotaryDimensions) = (shape.dHead, shape.rotaryDimensions)
        let type = try file.string("\(a).rope.scaling.type") ?? (try file.number("\(a).rope.scale_linear") != nil ? "linear" : "none")
        switch type {
        case "none":
            break
        case "linear":
            let factorKey = try file.number("\(a).rope.scaling.factor") != nil ? "\(a).rope.scaling.factor" : "\(a).rope.scale_linear"
            guard let factor = try file.number(factorKey), factor > 0 else {
                throw file.metadataError(factorKey, "must be present and positive for linear rope scaling")
            }
            if factor != 1 {
                return RotaryEmbedding(headDim: dHead, rotaryDim: rotaryDimensions, base: base, scaling: .linear(factor: factor))
            }
        case "yarn":
            return RotaryEmbedding(headDim: dHead, rotaryDim: rotaryDimensions, base: base,
                                   scaling: try ggufYaRN(file, architecture: a, context: shape.context))
        default:
            throw file.metadataError("\(a).rope.scaling.type", "'\(type)' is not supported (supported: none, linear, yarn)")
        }
        guard file.has("rope_freqs.weight") else { return RotaryEmbedding(headDim: dHead, rotaryDim: rotaryDimensions, base: base) }
        return try llama3Rotary(file, architecture: a, dHead: dHead, base: base)
    }

    /// Llama 3.1's rotary schedule whose per-frequency factors equal `rope_freqs.weight` (convert_hf_to_gguf writes
    /// them instead of the `rope_scaling` settings): the factor is their maximum, the other settings Llama 3's
    /// (low 1, high 4, original context `rope.scaling.original_context_length`, default 8192).
    private static func llama3Rotary(_ file: GGUFFile, architecture a: String, dHead: Int, base: Double) throws -> RotaryEmbedding {
        let factors = try file.tensor(named: "rope_freqs.weight").scalars
        guard factors.count == dHead / 2, let factor = factors.max(), factor >= 1 else {
            throw LoadingError("\(file.url.path): tensor 'rope_freqs.weight' must hold \(dHead / 2) factors of at least 1, found \(factors.count)")
        }
        let original = try file.integer("\(a).rope.scaling.original_context_length") ?? 8192
        let scaled = RotaryEmbedding(headDim: dHead, base: base, scaling: .llama3(
            factor: Double(factor), lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositionEmbeddings: original))
        let plain = RotaryEmbedding(headDim: dHead, base: base)
        for (i, stored) in factors.enumerated() {
            let implied = plain.inverseFrequencies[i] / scaled.inverseFrequencies[i]
            guard Swift.abs(implied - stored) <= 1e-3 * stored else {
                throw LoadingError("\(file.url.path): tensor 'rope_freqs.weight' factor \(i) is \(stored), but Llama 3 rope scaling (factor \(factor), low 1, high 4, original context \(original)) gives \(implied); other schedules are not supported")
            }
        }
        return scaled
    }
}
