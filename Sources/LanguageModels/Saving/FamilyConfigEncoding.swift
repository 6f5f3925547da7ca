import Foundation
import Tensors

extension ModelConfiguration {
    /// The `config.json` object of a GPT-NeoX, Gemma (1, 2, 3 text), Phi-3, OLMo-2, OLMo-3, Phi or OLMo configuration, in the
    /// layout transformers 5 writes (`rope_parameters`, `layer_types`), every field that decides the architecture
    /// explicit (Gemma-2's absent soft-capping is written `null`, since an absent key means 50 and 30).
    ///
    /// - Throws: ``SavingError`` naming what the family's layout cannot express.
    func familyConfigObject() throws -> [String: Any] {
        guard case .rotary(let rotary) = positionEncoding else {
            throw SavingError("config.json: model_type \(family.modelType) needs rotary positions")
        }
        var object: [String: Any] = [
            "model_type": family.modelType, "hidden_size": dModel, "intermediate_size": dMLP,
            "num_hidden_layers": nLayers, "num_attention_heads": nHeads, "vocab_size": vocabularySize,
            "max_position_embeddings": maxPositions, "tie_word_embeddings": tiedEmbeddings,
        ]
        for (key, ids) in [("bos_token_id", bosTokenIDs), ("eos_token_id", eosTokenIDs)] where !ids.isEmpty {
            object[key] = ids.count == 1 ? ids[0] as Any : ids as Any
        }
        if let dtype { object["dtype"] = dtype }
        // No padding id is recorded; null keeps Phi-3's default (32000) from falling outside a small vocabulary.
        object["pad_token_id"] = NSNull()
        try require(!scalesAttentionByInverseLayerIndex, "model_type \(family.modelType) does not scale attention by layer")
        try require(noRotaryLayers.isEmpty, "model_type \(family.modelType) rotates every layer (no NoPE layers)")
        switch family {
        case .gptNeoX: try addGPTNeoXFields(&object, rotary)
        case .gemma(let version): try addGemmaFields(&object, rotary, version: version)
        case .phi3: try addPhi3Fields(&object, rotary)
        case .olmo2: try addOLMo2Fields(&object, rotary)
        case .olmo3: try addOLMo3Fields(&object, rotary)
        case .phi: try addPhiFields(&object, rotary)
        case .olmo: try addOLMoFields(&object, rotary)
        case .olmoe: try addOLMoEFields(&object, rotary)
        case .gpt2, .llama: preconditionFailure("written by GPT2ConfigFile / LlamaConfigFile")
        }
        return object
    }

    /// The fields transformers' strict config classes type `float` (an integral value written `15` is refused).
    static let floatFields = ["rms_norm_eps", "layer_norm_eps", "attn_logit_softcapping", "final_logit_softcapping", "clip_qkv",
                              "factor", "attention_factor", "beta_fast", "beta_slow", "llama_4_scaling_beta"]

    /// `json` with the integral values of ``floatFields`` written with a decimal point (`15.0`), as
    /// `JSONSerialization` writes integral doubles without one.
    static func withDecimalPoints(_ json: Data) -> Data {
        var text = String(decoding: json, as: UTF8.self)
        for field in floatFields {
            text = text.replacingOccurrences(of: #"("\#(field)"\s*:\s*-?\d+)(?=\s*[,}])"#, with: "$1.0", options: .regularExpression)
        }
        return Data(text.utf8)
    }

    private var headsSpanModel: Bool { dHead * nHeads == dModel }

    /// `layer_types` and the one `sliding_window` of Gemma-2/3 and OLMo-3. With no sliding layer the window is
    /// transformers' default, 4096, which no layer uses: these models build the sliding-window mask whatever the
    /// layer types and refuse to run with a null `sliding_window`.
    private func addLayerTypes(_ object: inout [String: Any]) throws {
        let windows = Set(slidingWindows.compactMap { $0 })
        try require(windows.count <= 1, "one sliding window size is expressible, found \(windows.sorted())")
        object["sliding_window"] = windows.first ?? 4096
        object["layer_types"] = slidingWindows.map { $0 == nil ? "full_attention" : "sliding_attention" }
    }

    private func requireNoWindows() throws {
        try require(slidingWindows.allSatisfy { $0 == nil }, "model_type \(family.modelType) has no sliding windows")
    }

    private func requireBiases(qkv: Bool, output: Bool, mlp: Bool) throws {
        let name = family.modelType
        try require(attentionQKVBias == qkv && attentionOutputBias == output && mlpBias == mlp,
                    "model_type \(name) cannot express q/k/v bias \(attentionQKVBias), output bias \(attentionOutputBias), MLP bias \(mlpBias)")
    }

    private func addGPTNeoXFields(_ object: inout [String: Any], _ rotary: RotaryEmbedding) throws {
        try require(normalization == .layerNorm, "model_type gpt_neox uses LayerNorm")
        try require(nKVHeads == nHeads && headsSpanModel, "model_type gpt_neox has hidden_size / heads wide heads and no grouped-query heads")
        try require(!qkNorm && queryPreAttentionScalar == nil && attentionSoftcap == nil, "model_type gpt_neox has no q/k norms or soft-capping")
        try requireBiases(qkv: attentionQKVBias, output: attentionQKVBias, mlp: true)
        try requireNoWindows()
        object["architectures"] = ["GPTNeoXForCausalLM"]
        object["layer_norm_eps"] = normEpsilonForJSON
        object["hidden_act"] = activation.huggingFaceName
        object["use_parallel_residual"] = parallelResidual
        object["attention_bias"] = attentionQKVBias
        object["rope_parameters"] = try ropeParameters(rotary, partial: true)
    }

    private func addPhi3Fields(_ object: inout [String: Any], _ rotary: RotaryEmbedding) throws {
        try require(!qkNorm && queryPreAttentionScalar == nil && attentionSoftcap == nil, "model_type phi3 has no q/k norms or soft-capping")
        try requireBiases(qkv: false, output: false, mlp: false)
        let windows = Set(slidingWindows.map { $0 ?? 0 })
        try require(windows.count == 1, "model_type phi3 applies one sliding window to every layer or none, found \(slidingWindows)")
        var original = maxPositions
        switch rotary.scaling {
        case .none: break
        case .longRoPE(_, _, let context, _): original = context
        default: try require(false, "model_type phi3 is written with default or longrope rotary embeddings only")
        }
        addRMSNormDecoderFields(&object, architecture: "Phi3ForCausalLM")
        object["original_max_position_embeddings"] = original
        object["partial_rotary_factor"] = Double(rotary.rotaryDim) / Double(rotary.headDim)
        object["rope_parameters"] = try ropeParameters(rotary, partial: true)
        object["sliding_window"] = slidingWindows[0] as Any? ?? NSNull()
    }

    /// The fields Phi-3 and OLMo-2/3 write alike: the model class, key-value heads, head size (when the heads do
    /// not span the model), norm epsilon and activation.
    private func addRMSNormDecoderFields(_ object: inout [String: Any], architecture: String) {
        object["architectures"] = [architecture]
        object["num_key_value_heads"] = nKVHeads
        if !headsSpanModel { object["head_dim"] = dHead }
        object["rms_norm_eps"] = normEpsilonForJSON
        object["hidden_act"] = activation.huggingFaceName
    }

    private func addOLMo2Fields(_ object: inout [String: Any], _ rotary: RotaryEmbedding) throws {
        try require(qkNorm && queryPreAttentionScalar == nil && attentionSoftcap == nil,
                    "model_type olmo2 has q/k norms and no soft-capping")
        try requireBiases(qkv: attentionQKVBias, output: attentionQKVBias, mlp: false)
        try requireNoWindows()
        addRMSNormDecoderFields(&object, architecture: "Olmo2ForCausalLM")
        object["attention_bias"] = attentionQKVBias
        object["rope_parameters"] = try ropeParameters(rotary, partial: false)
    }

    /// OLMo-2's fields, the windows as `layer_types` and the rotary settings per layer type.
    private func addOLMo3Fields(_ object: inout [String: Any], _ rotary: RotaryEmbedding) throws {
        try require(qkNorm && queryPreAttentionScalar == nil && attentionSoftcap == nil && finalLogitSoftcap == nil,
                    "model_type olmo3 has q/k norms and no soft-capping")
        try requireBiases(qkv: attentionQKVBias, output: attentionQKVBias, mlp: false)
        addRMSNormDecoderFields(&object, architecture: "Olmo3ForCausalLM")
        object["attention_bias"] = attentionQKVBias
        try addLayerTypes(&object)
        object["rope_parameters"] = ["full_attention": try ropeParameters(rotary, partial: false),
                                     "sliding_attention": try ropeParameters(slidingWindowRotary ?? rotary, partial: false)]
    }

    private func addPhiFields(_ object: inout [String: Any], _ rotary: RotaryEmbedding) throws {
        try require(parallelResidual && headsSpanModel, "model_type phi has parallel blocks and hidden_size / heads wide heads")
        try require(queryPreAttentionScalar == nil && attentionSoftcap == nil && finalLogitSoftcap == nil && clipQKV == nil,
                    "model_type phi has no soft-capping or q/k/v clipping")
        try requireBiases(qkv: true, output: true, mlp: true)
        try requireNoWindows()
        object["architectures"] = ["PhiForCausalLM"]
        object["num_key_value_heads"] = nKVHeads
        object["layer_norm_eps"] = normEpsilonForJSON
        object["hidden_act"] = activation.huggingFaceName
        object["qk_layernorm"] = qkNorm
        object["rope_parameters"] = try ropeParameters(rotary, partial: true)
    }

    private func addOLMoFields(_ object: inout [String: Any], _ rotary: RotaryEmbedding) throws {
        try require(normEpsilon == 1e-5, "model_type olmo's LayerNorm epsilon is 1e-5, found \(normEpsilon)")
        try require(!qkNorm && !parallelResidual && queryPreAttentionScalar == nil && attentionSoftcap == nil
                    && finalLogitSoftcap == nil, "model_type olmo has no q/k norms, parallel blocks or soft-capping")
        try requireBiases(qkv: attentionQKVBias, output: attentionQKVBias, mlp: false)
        try requireNoWindows()
        object["architectures"] = ["OlmoForCausalLM"]
        object["num_key_value_heads"] = nKVHeads
        if !headsSpanModel { object["head_dim"] = dHead }
        object["hidden_act"] = activation.huggingFaceName
        object["attention_bias"] = attentionQKVBias
        object["clip_qkv"] = clipQKV.map { Double("\($0)")! as Any } ?? NSNull()
        object["rope_parameters"] = try ropeParameters(rotary, partial: false)
    }

    /// OLMoE's fields: the decoder's, q/k/v clipping and the experts' shape.
    private func addOLMoEFields(_ object: inout [String: Any], _ rotary: RotaryEmbedding) throws {
        try require(qkNorm && headsSpanModel && queryPreAttentionScalar == nil && attentionSoftcap == nil && finalLogitSoftcap == nil,
                    "model_type olmoe has q/k norms, hidden_size / heads wide heads and no soft-capping")
        try requireBiases(qkv: attentionQKVBias, output: attentionQKVBias, mlp: false)
        try requireNoWindows()
        guard let mixture else { throw SavingError("config.json: model_type olmoe needs its experts' shape") }
        try require(mixture.expertWidth ?? dMLP == dMLP && mixture.sharedExpertWidth == nil && mixture.denseLayers.isEmpty,
                    "model_type olmoe has experts of intermediate_size in every layer and no shared expert")
        addRMSNormDecoderFields(&object, architecture: "OlmoeForCausalLM")
        object["attention_bias"] = attentionQKVBias
        object["clip_qkv"] = clipQKV.map { Double("\($0)")! as Any } ?? NSNull()
        object["num_experts"] = mixture.experts
        object["num_experts_per_tok"] = mixture.expertsPerToken
        object["norm_topk_prob"] = mixture.normalizesTopK
        object["rope_parameters"] = try ropeParameters(rotary, partial: false)
    }

    private func addGemmaFields(_ object: inout [String: Any], _ rotary: RotaryEmbedding, version: GemmaVersion) throws {
        try require(qkNorm == (version == .gemma3Text), "model_type \(version.rawValue) \(qkNorm ? "has no" : "needs") q/k norms")
        try requireBiases(qkv: attentionQKVBias, output: attentionQKVBias, mlp: false)
        object["architectures"] = [["gemma": "GemmaForCausalLM", "gemma2": "Gemma2ForCausalLM",
                                    "gemma3_text": "Gemma3ForCausalLM"][version.rawValue]!]
        object["num_key_value_heads"] = nKVHeads
        object["head_dim"] = dHead
        object["rms_norm_eps"] = normEpsilonForJSON
        object["attention_bias"] = attentionQKVBias
        object[version == .gemma ? "hidden_act" : "hidden_activation"] = activation.huggingFaceName
        guard version != .gemma else {
            try require(queryPreAttentionScalar == nil && attentionSoftcap == nil && finalLogitSoftcap == nil,
                        "model_type gemma has no query_pre_attn_scalar or soft-capping")
            try requireNoWindows()
            object["rope_parameters"] = try ropeParameters(rotary, partial: false)
            return
        }
        try addLayerTypes(&object)
        object["query_pre_attn_scalar"] = queryPreAttentionScalar.map { $0 as Any } ?? Double(dHead)
        object["attn_logit_softcapping"] = attentionSoftcap.map { Double("\($0)")! as Any } ?? NSNull()
        object["final_logit_softcapping"] = finalLogitSoftcap.map { Double("\($0)")! as Any } ?? NSNull()
        if version == .gemma2 {
            try require(slidingWindowRotary == nil, "model_type gemma2 rotates every layer alike")
            object["rope_parameters"] = try ropeParameters(rotary, partial: false)
        } else {
            object["rope_parameters"] = ["full_attention": try ropeParameters(rotary, partial: false),
                                         "sliding_attention": try ropeParameters(slidingWindowRotary ?? rotary, partial: false)]
        }
    }

    /// A `rope_parameters` object: type, base, the scaling's settings and, when `partial` allows it, the rotated
    /// fraction of each head.
    private func ropeParameters(_ rotary: RotaryEmbedding, partial: Bool) throws -> [String: Any] {
        try require(rotary.headDim == dHead, "the rotary head size \(rotary.headDim) differs from head_dim \(dHead)")
        try require(partial || rotary.rotaryDim == rotary.headDim,
                    "model_type \(family.modelType) rotates whole heads (rotary dimension \(rotary.rotaryDim) of \(rotary.headDim))")
        var parameters: [String: Any] = ["rope_theta": rotary.base]
        switch rotary.scaling {
        case .none:
            parameters["rope_type"] = "default"
        case .linear(let factor):
            parameters["rope_type"] = "linear"
            parameters["factor"] = factor
        case .llama3(let factor, let low, let high, let original):
            parameters.merge(["rope_type": "llama3", "factor": factor, "low_freq_factor": low, "high_freq_factor": high,
                              "original_max_position_embeddings": original]) { $1 }
        case .yarn(let factor, let original, let betaFast, let betaSlow, let truncate, let attentionFactor):
            parameters.merge(["rope_type": "yarn", "factor": factor, "original_max_position_embeddings": original,
                              "beta_fast": betaFast, "beta_slow": betaSlow, "truncate": truncate,
                              "attention_factor": attentionFactor]) { $1 }
        case .longRoPE(let short, let long, _, let attentionFactor):
            parameters.merge(["rope_type": "longrope", "short_factor": short, "long_factor": long,
                              "attention_factor": attentionFactor]) { $1 }
        }
        // GPT-NeoX reads an absent factor as 0.25, Phi as 0.5, the others as 1.
        if rotary.rotaryDim != rotary.headDim || family == .gptNeoX || family == .phi {
            parameters["partial_rotary_factor"] = Double(rotary.rotaryDim) / Double(rotary.headDim)
        }
        return parameters
    }
}
