extension LlamaConfigFile {
    /// The mixture of a `qwen2_moe` or `qwen3_moe` file, with transformers' defaults (`Qwen2MoeConfig`: 60 experts,
    /// 4 per token, 1408 wide, a 5632-wide shared expert; `Qwen3MoeConfig`: 128 experts, 8 per token, 768 wide, no
    /// shared expert; both: no top-k renormalization, every layer sparse). As in transformers' decoder layer, layer
    /// `l` is a mixture when it is not in `mlp_only_layers` and `(l + 1) % decoder_sparse_step == 0`; entries of
    /// `mlp_only_layers` outside the layers name no layer and change nothing.
    ///
    /// transformers 5 writes a Qwen3-MoE's expert count as `num_local_experts` (an alias of `num_experts` that wins
    /// when both are present); Qwen2-MoE reads `num_experts` only.
    func qwenMixture(_ variant: ModelConfiguration.LlamaVariant, checker: ConfigurationChecker) throws -> ModelConfiguration.Mixture {
        let qwen2 = variant == .qwen2MoE
        let alias = qwen2 ? nil : numLocalExperts
        let experts = alias ?? numExperts ?? (qwen2 ? 60 : 128), perToken = numExpertsPerTok ?? (qwen2 ? 4 : 8)
        try checker.requireExperts(experts, alias != nil ? "num_local_experts" : "num_experts", perToken: perToken)
        let width = moeIntermediateSize ?? (qwen2 ? 1408 : 768)
        try checker.requireWidth(width, "moe_intermediate_size")
        var sharedWidth: Int?
        if qwen2 {
            sharedWidth = sharedExpertIntermediateSize ?? 5632
            try checker.requireWidth(sharedWidth!, "shared_expert_intermediate_size")
        }
        let step = decoderSparseStep ?? 1
        try checker.requirePositive(step, "decoder_sparse_step")
        let mlpOnly = Set(mlpOnlyLayers ?? [])
        return ModelConfiguration.Mixture(
            experts: experts, expertsPerToken: perToken, normalizesTopK: normTopkProb ?? false, expertWidth: width,
            sharedExpertWidth: sharedWidth,
            denseLayers: Set((0..<numHiddenLayers).filter { mlpOnly.contains($0) || ($0 + 1) % step != 0 }))
    }

    /// The windows as transformers' masks apply them: without `use_sliding_window` none; with it Qwen3-MoE windows
    /// every layer, and Qwen2-MoE the `sliding_attention` entries of `layer_types`, which by default are the even
    /// layers below `max_window_layers` (default 28). `sliding_window` defaults to 4096.
    func qwenMoESlidingWindows(_ variant: ModelConfiguration.LlamaVariant, checker: ConfigurationChecker) throws -> [Int?] {
        guard useSlidingWindow == true else {
            if variant == .qwen2MoE, let index = layerTypes?.firstIndex(of: "sliding_attention") {
                throw checker.error("layer_types[\(index)]", "is sliding_attention, but use_sliding_window is not true (transformers' window is then 0)")
            }
            return Array(repeating: nil, count: numHiddenLayers)
        }
        let window = slidingWindow ?? 4096
        try checker.requirePositive(window, "sliding_window")
        guard variant == .qwen2MoE else { return Array(repeating: window, count: numHiddenLayers) }
        let firstFull = maxWindowLayers ?? 28
        let types = layerTypes ?? (0..<numHiddenLayers).map { $0 % 2 == 0 && $0 < firstFull ? "sliding_attention" : "full_attention" }
        return try checker.slidingWindows(layerTypes: types, window: window, layers: numHiddenLayers)
    }
}
