extension ModelConfiguration {
    /// The architecture options in force, one short phrase each, for `interp info`: positions, windows,
    /// soft-capping, norms, MLP and embedding details that tell members of a family apart.
    public var optionsInForce: [String] {
        var options: [String] = []
        if let multimodalWrapper {
            options.append("language model of a \(multimodalWrapper) multimodal checkpoint (vision tower not loaded)")
        }
        switch positionEncoding {
        case .learned:
            options.append("learned positions")
        case .rotary(let rotary):
            let part = rotary.rotaryDim == rotary.headDim ? "" : " on \(rotary.rotaryDim) of \(rotary.headDim) head dimensions"
            options.append("rotary\(part), base \(rotary.base)\(rotary.scaling == .none ? "" : ", scaling \(rotary.scaling)")")
            if let scaling = rotary.queryScaling {
                options.append("queries x (1 + \(scaling.beta) ln(1 + floor(position / \(scaling.originalMaxPositionEmbeddings))))")
            }
        }
        if let local = slidingWindowRotary {
            options.append("sliding-window layers rotate with base \(local.base)\(local.scaling == .none ? "" : ", scaling \(local.scaling)")")
        }
        if !noRotaryLayers.isEmpty {
            options.append("no rotary (NoPE) on layers \(noRotaryLayers.sorted().map(String.init).joined(separator: ","))")
        }
        let windowed = slidingWindows.enumerated().compactMap { layer, window in window.map { (layer, $0) } }
        if let (_, window) = windowed.first {
            let layers = windowed.count == nLayers ? "every layer" : "layers \(windowed.map { String($0.0) }.joined(separator: ","))"
            options.append("sliding window \(window) on \(layers)")
        }
        if parallelResidual { options.append("parallel attention and MLP") }
        switch family {
        case .gemma(let version):
            options.append("embeddings x sqrt(d_model), norms x (1 + weight)")
            if version != .gemma { options.append("post-attention and post-MLP norms") }
        case .olmo2, .olmo3:
            options.append("no pre-norms: post-attention and post-MLP norms")
        case .olmo:
            options.append("LayerNorms without gain or bias")
        case .phi:
            options.append("one LayerNorm feeds attention and MLP, unembedding bias")
        default:
            break
        }
        if let mixture {
            options.append("mixture of experts: \(mixture.expertsPerToken) of \(mixture.experts) experts per token"
                           + (mixture.expertWidth.map { " (width \($0))" } ?? "") + (mixture.normalizesTopK ? ", weights renormalized" : ""))
            if let width = mixture.sharedExpertWidth { options.append("a gated shared expert of width \(width)") }
            if !mixture.denseLayers.isEmpty { options.append("dense MLPs in layers \(mixture.denseLayers.sorted())") }
        }
        if qkNorm { options.append([.olmo2, .olmo3, .olmoe].contains(family) ? "q/k norms over all heads" : "per-head q/k norms") }
        if let clipQKV { options.append("q, k, v clamped to ±\(clipQKV)") }
        if let queryPreAttentionScalar { options.append("scores scaled by query_pre_attn_scalar \(queryPreAttentionScalar)^-1/2") }
        if let attentionSoftcap { options.append("attention soft-cap \(attentionSoftcap)") }
        if let finalLogitSoftcap { options.append("final logit soft-cap \(finalLogitSoftcap)") }
        options.append("\(normalization == .layerNorm ? "LayerNorm" : "RMSNorm") eps \(normEpsilon), \(activation.huggingFaceName)")
        let biases = [("qkv", attentionQKVBias), ("attention output", attentionOutputBias), ("MLP", mlpBias)].filter(\.1).map(\.0)
        if !biases.isEmpty { options.append("biases: \(biases.joined(separator: ", "))") }
        if tiedEmbeddings { options.append("tied embeddings") }
        return options
    }
}
