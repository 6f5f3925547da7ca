import Foundation

/// The architecture of a decoder-only language model, normalized from a Hugging Face `config.json`.
///
/// Model code reads only this description; the per-family `config.json` layouts (``GPT2ConfigFile``,
/// ``LlamaConfigFile``, ``GPTNeoXConfigFile``, ``GemmaConfigFile``, ``Phi3ConfigFile``, ``OLMo2ConfigFile``, ``OLMo3ConfigFile``, ``PhiConfigFile``, ``OLMoConfigFile``, ``Gemma3MultimodalConfigFile``, ``Mistral3ConfigFile``) are decoded and checked on the way in, and any option this library does not implement
/// is refused with an error naming the field rather than approximated.
///
/// ```swift
/// let configuration = try ModelConfiguration(contentsOf: modelDirectory)   // reads config.json
/// if case .llama(.qwen2) = configuration.family { ... }
/// ```
public struct ModelConfiguration: Equatable, Sendable {
    /// The implementation family.
    public enum Family: Equatable, Sendable {
        /// GPT-2: learned positions, LayerNorm, fused `c_attn` Conv1D weights stored `[in, out]`, GELU MLP.
        case gpt2
        /// The Llama family: rotary positions, RMSNorm, gated MLP, grouped-query attention.
        case llama(LlamaVariant)
        /// GPT-NeoX (Pythia): LayerNorm, fused per-head interleaved QKV, partial rotary, parallel or sequential
        /// residual, separate `embed_out` unembedding.
        case gptNeoX
        /// Gemma 1, 2 and 3 (text): embeddings scaled by `sqrt(dModel)`, RMSNorm with gain `1 + weight`, GeGLU.
        case gemma(GemmaVersion)
        /// Phi-3: the Llama block with fused `qkv_proj` and `gate_up_proj`, optional partial rotary.
        case phi3
        /// OLMo-2: norms after attention and MLP instead of before, q/k RMSNorm over the whole projection.
        case olmo2
        /// OLMo-3: OLMo-2's block with sliding-window layers (``slidingWindows``) that rotate with settings of their
        /// own (``slidingWindowRotary``).
        case olmo3
        /// Phi-1, Phi-1.5, Phi-2: attention and MLP in parallel off one LayerNorm, partial rotary, biases
        /// everywhere (the unembedding too), optional per-head q/k LayerNorms.
        case phi
        /// OLMo (v1): the Llama block with LayerNorms that have neither gain nor bias, optional q/k/v clipping.
        case olmo
        /// OLMoE: a mixture-of-experts MLP (``ModelConfiguration/mixture``) in a pre-norm block whose attention has
        /// OLMo-2's q/k RMSNorms over the whole projection and optional q/k/v clipping.
        case olmoe

        /// The `model_type` of `config.json`.
        public var modelType: String {
            switch self {
            case .gpt2: return "gpt2"
            case .llama(let variant): return variant.rawValue
            case .gptNeoX: return "gpt_neox"
            case .gemma(let version): return version.rawValue
            case .phi3: return "phi3"
            case .olmo2: return "olmo2"
            case .olmo3: return "olmo3"
            case .phi: return "phi"
            case .olmo: return "olmo"
            case .olmoe: return "olmoe"
            }
        }
    }

    /// The Gemma generations, by `model_type`.
    public enum GemmaVersion: String, CaseIterable, Sendable {
        /// Gemma 1: the Llama block with Gemma's norms, embedding scale and GeGLU.
        case gemma
        /// Gemma 2: adds post-attention and post-MLP norms, attention and final logit soft-capping, alternating
        /// sliding-window layers and `query_pre_attn_scalar`.
        case gemma2
        /// Gemma 3 (text): Gemma 2 with per-head q/k norms, a rotary base of its own for the sliding-window
        /// layers and (usually) no soft-capping.
        case gemma3Text = "gemma3_text"
    }

    /// The members of the Llama family, which differ only in options recorded in the configuration.
    public enum LlamaVariant: String, CaseIterable, Sendable {
        case llama, mistral, qwen2, qwen3
        /// Mixtral: Mistral's block with a mixture-of-experts MLP (``ModelConfiguration/mixture``) whose chosen
        /// experts' probabilities are always renormalized.
        case mixtral
        /// SmolLM3: Llama with NoPE layers (``ModelConfiguration/noRotaryLayers``) and optional sliding windows.
        case smollm3
        /// Qwen2-MoE (Qwen1.5-MoE, Qwen2-57B-A14B): Qwen2's block with a mixture of experts of
        /// ``Mixture/expertWidth`` plus a gated shared expert (``Mixture/sharedExpertWidth``), and dense MLPs in
        /// ``Mixture/denseLayers``.
        case qwen2MoE = "qwen2_moe"
        /// Qwen3-MoE (Qwen3-30B-A3B): Qwen3's block (per-head q/k norms) with a mixture of experts of
        /// ``Mixture/expertWidth`` and dense MLPs in ``Mixture/denseLayers``.
        case qwen3MoE = "qwen3_moe"
        /// Ministral (Ministral-8B-2410): Mistral's block with sliding windows on the `sliding_attention` entries of
        /// `layer_types`.
        case ministral
        /// Ministral 3 (the text model of the Ministral 3 and Mistral 3 releases): Mistral's block whose rotated
        /// queries are scaled by their position (``RotaryEmbedding/queryScaling``, Llama 4's `llama_4_scaling_beta`).
        case ministral3
    }

    /// The shape of a mixture-of-experts MLP: each token is routed to ``expertsPerToken`` of ``experts`` gated MLPs
    /// of width ``expertWidth`` (OLMoE's and Mixtral's ``ModelConfiguration/dMLP``), plus, in Qwen2-MoE, a shared expert
    /// every token passes through. The layers of ``denseLayers`` have a dense MLP of width ``ModelConfiguration/dMLP``
    /// instead.
    public struct Mixture: Equatable, Sendable {
        /// The number of experts per layer (`num_experts`).
        public var experts: Int
        /// The experts each token is routed to (`num_experts_per_tok`).
        public var expertsPerToken: Int
        /// Whether the chosen experts' probabilities are renormalized to sum to 1 (`norm_topk_prob`).
        public var normalizesTopK: Bool
        /// The width of each routed expert (Qwen-MoE's `moe_intermediate_size`); nil for ``ModelConfiguration/dMLP``.
        public var expertWidth: Int?
        /// The width of the shared expert (Qwen2-MoE's `shared_expert_intermediate_size`), whose output, scaled by
        /// `sigmoid(shared_expert_gate(x))`, is added to the routed experts'; nil for none.
        public var sharedExpertWidth: Int?
        /// The layers with a dense MLP instead of a mixture (Qwen-MoE's `mlp_only_layers` and the layers
        /// `decoder_sparse_step` skips); empty when every layer is a mixture.
        public var denseLayers: Set<Int>

        public init(experts: Int, expertsPerToken: Int, normalizesTopK: Bool, expertWidth: Int? = nil,
                    sharedExpertWidth: Int? = nil, denseLayers: Set<Int> = []) {
            self.experts = experts; self.expertsPerToken = expertsPerToken; self.normalizesTopK = normalizesTopK
            self.expertWidth = expertWidth; self.sharedExpertWidth = sharedExpertWidth; self.denseLayers = denseLayers
        }
    }

    /// How token positions enter the model.
    public enum PositionEncoding: Equatable, Sendable {
        /// A learned table of `maxPositions` rows added to the token embedding.
        case learned
        /// Rotary embeddings applied to queries and keys.
        case rotary(RotaryEmbedding)
    }

    public var family: Family
    /// The residual stream width.
    public var dModel: Int
    /// The number of transformer blocks.
    public var nLayers: Int
    /// Query heads per layer.
    public var nHeads: Int
    /// Key/value heads per layer (`nHeads` without grouped-query attention; divides `nHeads`).
    public var nKVHeads: Int
    /// The width of one head (may differ from `dModel / nHeads`, e.g. Qwen3's `head_dim`).
    public var dHead: Int
    /// The MLP hidden width.
    public var dMLP: Int
    /// Rows of the token embedding (and of the unembedding).
    public var vocabularySize: Int
    /// The longest sequence the model was built for (`n_positions` / `max_position_embeddings`).
    public var maxPositions: Int
    /// The normalization epsilon.
    public var normEpsilon: Float
    /// The MLP activation (GPT-2's MLP, or the gate of the Llama family's gated MLP).
    public var activation: Activation
    /// Learned positions (GPT-2) or rotary settings (Llama family).
    public var positionEncoding: PositionEncoding
    /// Whether the q, k and v projections have biases.
    public var attentionQKVBias: Bool
    /// Whether the attention output projection has a bias.
    public var attentionOutputBias: Bool
    /// Whether the MLP projections have biases.
    public var mlpBias: Bool
    /// Whether queries and keys pass through a per-head RMSNorm before the rotation (Qwen3; a per-head LayerNorm
    /// with bias for Phi's `qk_layernorm`).
    public var qkNorm: Bool
    /// The bound the q, k and v projections are clamped to, `[-clip, clip]` (OLMo's `clip_qkv`); nil for none.
    public var clipQKV: Float?
    /// Whether the unembedding is the transposed token embedding.
    public var tiedEmbeddings: Bool
    /// Per layer: the attention window, or nil for full causal attention. With window `w` the query at
    /// position `i` sees keys `j` with `i - w < j <= i`.
    public var slidingWindows: [Int?]
    /// Whether attention scores are divided by `sqrt(dHead)` (GPT-2's `scale_attn_weights`; always for Llama).
    public var scalesAttentionByHeadDimension: Bool
    /// Whether layer `l`'s attention scores are further divided by `l + 1` (GPT-2's `scale_attn_by_inverse_layer_idx`).
    public var scalesAttentionByInverseLayerIndex: Bool
    /// `bos_token_id`, empty when absent.
    public var bosTokenIDs: [Int]
    /// `eos_token_id` (one or several), empty when absent.
    public var eosTokenIDs: [Int]
    /// The dtype the checkpoint was saved in (`torch_dtype` / `dtype`), e.g. `bfloat16`.
    public var dtype: String?
    /// MLX quantization of the weights, when quantized.
    public var quantization: MLXQuantization?
    /// Whether attention and MLP read the same block input (GPT-NeoX `use_parallel_residual`).
    public var parallelResidual: Bool
    /// Attention logit soft-capping (Gemma-2 `attn_logit_softcapping`), nil for none.
    public var attentionSoftcap: Float?
    /// Final logit soft-capping (Gemma-2 `final_logit_softcapping`), nil for none.
    public var finalLogitSoftcap: Float?
    /// Scores are multiplied by `queryPreAttentionScalar^-1/2` instead of `dHead^-1/2` (Gemma-2/3
    /// `query_pre_attn_scalar`); nil for `dHead`.
    public var queryPreAttentionScalar: Double?
    /// The rotary settings of the sliding-window layers when they differ from ``positionEncoding``'s (Gemma-3's
    /// `rope_local_base_freq`, OLMo-3's `rope_parameters.sliding_attention`); nil when every layer rotates alike.
    public var slidingWindowRotary: RotaryEmbedding?
    /// The layers whose attention rotates neither queries nor keys (SmolLM3's NoPE layers, `no_rope_layers[l] == 0`);
    /// empty when every layer rotates.
    public var noRotaryLayers: Set<Int>
    /// The `model_type` of the multimodal checkpoint whose language model this is (`gemma3` for
    /// Gemma3ForConditionalGeneration, `mistral3` for Mistral3ForConditionalGeneration), nil for a text-only checkpoint. Only the language model is read; its
    /// tensors carry the wrapper's prefix (see ``TransformerModel/build(_:weights:source:)``).
    public var multimodalWrapper: String?
    /// The mixture-of-experts MLP's shape (OLMoE, Mixtral, Qwen-MoE), nil for a dense MLP.
    public var mixture: Mixture?

    /// Creates a configuration; `nKVHeads` defaults to `nHeads`, `dHead` to `dModel / nHeads`.
    public init(
        family: Family, dModel: Int, nLayers: Int, nHeads: Int, nKVHeads: Int? = nil, dHead: Int? = nil,
        dMLP: Int, vocabularySize: Int, maxPositions: Int, normEpsilon: Float, activation: Activation,
        positionEncoding: PositionEncoding, attentionQKVBias: Bool, attentionOutputBias: Bool, mlpBias: Bool,
        qkNorm: Bool = false, tiedEmbeddings: Bool, slidingWindows: [Int?]? = nil,
        scalesAttentionByHeadDimension: Bool = true, scalesAttentionByInverseLayerIndex: Bool = false,
        bosTokenIDs: [Int] = [], eosTokenIDs: [Int] = [], dtype: String? = nil, quantization: MLXQuantization? = nil,
        parallelResidual: Bool = false, attentionSoftcap: Float? = nil, finalLogitSoftcap: Float? = nil,
        queryPreAttentionScalar: Double? = nil, slidingWindowRotary: RotaryEmbedding? = nil, clipQKV: Float? = nil,
        noRotaryLayers: Set<Int> = [], multimodalWrapper: String? = nil, mixture: Mixture? = nil
    ) {
        precondition(dHead != nil || dModel % nHeads == 0, "dModel \(dModel) is not a multiple of nHeads \(nHeads)")
        precondition(nHeads % (nKVHeads ?? nHeads) == 0, "nHeads \(nHeads) is not a multiple of nKVHeads \(nKVHeads ?? nHeads)")
        precondition(slidingWindows == nil || slidingWindows!.count == nLayers, "slidingWindows needs one entry per layer")
        self.family = family
        self.dModel = dModel
        self.nLayers = nLayers
        self.nHeads = nHeads
        self.nKVHeads = nKVHeads ?? nHeads
        self.dHead = dHead ?? dModel / nHeads
        self.dMLP = dMLP
        self.vocabularySize = vocabularySize
        self.maxPositions = maxPositions
        self.normEpsilon = normEpsilon
        self.activation = activation
        self.positionEncoding = positionEncoding
        self.attentionQKVBias = attentionQKVBias
        self.attentionOutputBias = attentionOutputBias
        self.mlpBias = mlpBias
        self.qkNorm = qkNorm
        self.tiedEmbeddings = tiedEmbeddings
        self.slidingWindows = slidingWindows ?? Array(repeating: nil, count: nLayers)
        self.scalesAttentionByHeadDimension = scalesAttentionByHeadDimension
        self.scalesAttentionByInverseLayerIndex = scalesAttentionByInverseLayerIndex
        self.bosTokenIDs = bosTokenIDs
        self.eosTokenIDs = eosTokenIDs
        self.dtype = dtype
        self.quantization = quantization
        self.parallelResidual = parallelResidual
        self.attentionSoftcap = attentionSoftcap
        self.finalLogitSoftcap = finalLogitSoftcap
        self.queryPreAttentionScalar = queryPreAttentionScalar
        self.slidingWindowRotary = slidingWindowRotary
        self.clipQKV = clipQKV
        self.noRotaryLayers = noRotaryLayers
        self.multimodalWrapper = multimodalWrapper
        self.mixture = mixture
    }

    /// The normalization layer type of the family.
    public var normalization: Normalization.Kind {
        [.gpt2, .gptNeoX, .phi, .olmo].contains(family) ? .layerNorm : .rmsNorm
    }

    /// The factor token embeddings are multiplied by: `sqrt(dModel)` for Gemma, nil otherwise.
    public var embeddingScale: Float? {
        guard case .gemma = family else { return nil }
        return Float(Double(dModel).squareRoot())
    }

    /// The rotary settings of layer `layer`, nil with learned positions and on NoPE layers (``noRotaryLayers``).
    public func rotary(layer: Int) -> RotaryEmbedding? {
        guard case .rotary(let rotary) = positionEncoding, !noRotaryLayers.contains(layer) else { return nil }
        return slidingWindows[layer] != nil ? slidingWindowRotary ?? rotary : rotary
    }

    /// The factor applied to query-key dot products in layer `layer` (0-based).
    public func attentionScale(layer: Int) -> Float {
        if let queryPreAttentionScalar { return Float(1 / queryPreAttentionScalar.squareRoot()) }
        var scale: Float = scalesAttentionByHeadDimension ? 1 / Float(dHead).squareRoot() : 1
        if scalesAttentionByInverseLayerIndex { scale /= Float(layer + 1) }
        return scale
    }
}
