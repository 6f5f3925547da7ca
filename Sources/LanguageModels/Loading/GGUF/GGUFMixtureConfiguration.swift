import Foundation

extension ModelConfiguration {
    /// The mixture-of-experts MLP of a GGUF file as llama.cpp reads it: `<arch>.expert_count` experts (nil when the key
    /// is absent: a dense MLP), `<arch>.expert_used_count` of them per token, softmax gating. The chosen experts'
    /// probabilities are renormalized as `<arch>.expert_weights_norm` says (convert_hf_to_gguf writes it from
    /// `norm_topk_prob` when the config has one, as OLMoE's does), else as llama.cpp fixes it for the architecture
    /// (`defaultNormalization`: on for `llama` (Mixtral), off for `olmoe`). llama.cpp itself ignores the key for these
    /// two architectures; transformers' models follow `norm_topk_prob`, which is what the key records.
    ///
    /// Throws naming the key for a count that is not positive, above ``ConfigurationChecker/maximumExperts`` or below
    /// the used count, and for settings neither llama.cpp nor transformers applies to these architectures (an
    /// `expert_shared_count` other than `sharedExperts`, a gating function other than softmax, a weight scale other
    /// than 1), which the file would otherwise be run without.
    static func ggufMixture(_ file: GGUFFile, architecture a: String, defaultNormalization: Bool, sharedExperts: Int = 0) throws -> Mixture? {
        guard let experts = try file.integer("\(a).expert_count") else {
            if file.metadata["\(a).expert_used_count"] != nil {
                throw file.metadataError("\(a).expert_count", "is missing, but \(a).expert_used_count is present")
            }
            return nil
        }
        guard experts > 0 && experts <= ConfigurationChecker.maximumExperts else {
            throw file.metadataError("\(a).expert_count", "is \(experts); it must be between 1 and \(ConfigurationChecker.maximumExperts) (a larger count means a corrupt file)")
        }
        guard let used = try file.integer("\(a).expert_used_count") else {
            throw file.metadataError("\(a).expert_used_count", "is missing (the file has \(experts) experts)")
        }
        guard used >= 1 && used <= experts else {
            throw file.metadataError("\(a).expert_used_count", "\(used) is not between 1 and \(a).expert_count \(experts)")
        }
        if let shared = try file.integer("\(a).expert_shared_count"), shared != sharedExperts {
            throw file.metadataError("\(a).expert_shared_count", "\(shared): \(a) has \(sharedExperts == 0 ? "no shared experts" : "\(sharedExperts) shared expert")")
        }
        if let gating = try file.integer("\(a).expert_gating_func"), gating != 1 {
            throw file.metadataError("\(a).expert_gating_func", "\(gating) is not softmax (1), the only gating supported for \(a)")
        }
        if let scale = try file.number("\(a).expert_weights_scale"), scale != 1 && scale != 0 {
            throw file.metadataError("\(a).expert_weights_scale", "\(scale): scaled expert weights are not supported for \(a)")
        }
        let normalizes = try file.bool("\(a).expert_weights_norm") ?? defaultNormalization
        return Mixture(experts: experts, expertsPerToken: used, normalizesTopK: normalizes)
    }

    /// The configuration of an `olmoe` GGUF file (OLMoE as convert_hf_to_gguf's `OlmoeModel` writes it), read as
    /// llama.cpp reads it: the shape as for every architecture (``GGUFDecoderShape``; `feed_forward_length` is each
    /// expert's width), RMSNorms over the whole q and k projections (`attn_q_norm`, `attn_k_norm`), rotary positions
    /// (`rope.freq_base`), q/k rows as Hugging Face stores them (not permuted), a mixture of experts
    /// (``ggufMixture(_:architecture:defaultNormalization:)``; top-k weights not renormalized by default), whose experts are
    /// stacked in `ffn_{gate,up,down}_exps` (read per expert by ``GGUFWeights``), tied embeddings without
    /// `output.weight`. The converter writes no `clip_qkv` and llama.cpp applies none.
    init(olmoeGGUF file: GGUFFile) throws {
        let shape = try GGUFDecoderShape(file, architecture: "olmoe", defaultContext: 4096)
        guard let mixture = try Self.ggufMixture(file, architecture: "olmoe", defaultNormalization: false) else {
            throw file.metadataError("olmoe.expert_count", "is missing; an olmoe file needs its expert count")
        }
        let bias = file.has("blk.0.attn_q.bias")
        self.init(
            family: .olmoe, dModel: shape.dModel, nLayers: shape.layers, nHeads: shape.heads, nKVHeads: shape.kvHeads,
            dHead: shape.dHead, dMLP: try Self.expertWidth(file, architecture: "olmoe", shape: shape),
            vocabularySize: shape.vocabulary, maxPositions: shape.context, normEpsilon: Float(shape.epsilon),
            activation: .silu, positionEncoding: .rotary(try Self.rotary(file, architecture: "olmoe", shape: shape)),
            attentionQKVBias: bias, attentionOutputBias: bias, mlpBias: false, qkNorm: true,
            tiedEmbeddings: !file.has("output.weight"),
            bosTokenIDs: try file.specialTokenIDs("bos"), eosTokenIDs: try file.specialTokenIDs("eos"),
            dtype: file.quantizationMix.dominantType?.name, mixture: mixture)
    }

    /// The mixture of a `qwen2moe` or `qwen3moe` file (Qwen1.5-MoE, Qwen2-57B-A14B; Qwen3-30B-A3B, as
    /// convert_hf_to_gguf's `Qwen2MoeModel` / `Qwen3MoeModel` write them), read as llama.cpp reads it: every layer a
    /// mixture (the converter maps no dense MLP, so checkpoints with `mlp_only_layers` do not convert, and llama.cpp
    /// builds none; a layer without `ffn_gate_inp` is refused naming it), experts `expert_feed_forward_length` wide
    /// (default `feed_forward_length / expert_used_count`, llama.cpp's), top-k weights renormalized as
    /// `expert_weights_norm` says (written from `norm_topk_prob`), else as llama.cpp fixes it: off for `qwen2moe`, on for
    /// `qwen3moe` (transformers' GGUF loader defaults likewise). `qwen2moe` adds the shared expert
    /// (`ffn_{gate,up,down}_shexp`, `expert_shared_feed_forward_length` wide, default `feed_forward_length`) scaled by
    /// the sigmoid of `ffn_gate_inp_shexp`.
    static func qwenGGUFMixture(_ file: GGUFFile, architecture a: String, shape: GGUFDecoderShape) throws -> Mixture {
        let qwen2 = a == "qwen2moe"
        guard var mixture = try ggufMixture(file, architecture: a, defaultNormalization: !qwen2, sharedExperts: qwen2 ? 1 : 0) else {
            throw file.metadataError("\(a).expert_count", "is missing; a \(a) file needs its expert count")
        }
        mixture.expertWidth = try expertWidth(file, architecture: a, shape: shape, default: shape.dMLP / mixture.expertsPerToken)
        if qwen2 { mixture.sharedExpertWidth = try width(file, "\(a).expert_shared_feed_forward_length", default: shape.dMLP) }
        return mixture
    }

    /// Each expert's width: `<arch>.expert_feed_forward_length` when present (converters write it for models whose
    /// config has `moe_intermediate_size`), else `fallback` (default `feed_forward_length`).
    static func expertWidth(_ file: GGUFFile, architecture a: String, shape: GGUFDecoderShape, default fallback: Int? = nil) throws -> Int {
        try width(file, "\(a).expert_feed_forward_length", default: fallback ?? shape.dMLP)
    }

    /// The width `key` states, `fallback` when absent; throws naming the key unless it is positive and at most
    /// ``ConfigurationChecker/maximumWidth``.
    private static func width(_ file: GGUFFile, _ key: String, default fallback: Int) throws -> Int {
        let width = try file.integer(key) ?? fallback
        guard width > 0 && width <= ConfigurationChecker.maximumWidth else {
            throw file.metadataError(key, "must be positive and at most \(ConfigurationChecker.maximumWidth), found \(width)")
        }
        return width
    }
}
