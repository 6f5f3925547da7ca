/// Reads one layer's ``MixtureOfExperts`` from a checkpoint, under either tensor layout of transformers' mixtures.
enum MixtureLoading {
    /// Where a checkpoint keeps a mixture's tensors, under `model.layers.L.`.
    enum Layout {
        /// OLMoE and Qwen-MoE: the router `mlp.gate`, experts `mlp.experts.E.{gate,up,down}_proj`, and Qwen2-MoE's
        /// shared expert `mlp.shared_expert.{gate,up,down}_proj` with its gate `mlp.shared_expert_gate`.
        case mlp
        /// Mixtral: the router `block_sparse_moe.gate`, experts `block_sparse_moe.experts.E.{w1,w3,w2}` (gate, up, down).
        case blockSparseMoE
    }

    /// Layer `layer`'s mixture of `c.mixture`'s shape; bias-free projections in the stored dtype or MLX-packed.
    static func mixture(_ c: ModelConfiguration, layer: Int, weights w: some WeightSource, layout: Layout) throws -> MixtureOfExperts {
        guard let shape = c.mixture else { throw LoadingError("layer \(layer): a mixture of experts needs its experts' shape") }
        let d = c.dModel, width = shape.expertWidth ?? c.dMLP, p = "model.layers.\(layer)."
        func linear(_ module: String, _ outputs: Int, _ inputs: Int) throws -> Linear {
            try w.linear(module, outputs, inputs, bias: false, quantization: c.quantization)
        }
        func gatedMLP(gate: String, up: String, down: String, width: Int) throws -> FeedForward {
            FeedForward(input: try linear(up, width, d), gate: try linear(gate, width, d), output: try linear(down, d, width),
                        activation: c.activation)
        }
        let router: Linear, experts: [FeedForward]
        switch layout {
        case .mlp:
            router = try linear(p + "mlp.gate", shape.experts, d)
            experts = try (0..<shape.experts).map { e in
                let m = p + "mlp.experts.\(e)."
                return try gatedMLP(gate: m + "gate_proj", up: m + "up_proj", down: m + "down_proj", width: width)
            }
        case .blockSparseMoE:
            router = try linear(p + "block_sparse_moe.gate", shape.experts, d)
            experts = try (0..<shape.experts).map { e in
                let m = p + "block_sparse_moe.experts.\(e)."
                return try gatedMLP(gate: m + "w1", up: m + "w3", down: m + "w2", width: width)
            }
        }
        let shared = try shape.sharedExpertWidth.map { sharedWidth in
            let m = p + "mlp.shared_expert."
            return (expert: try gatedMLP(gate: m + "gate_proj", up: m + "up_proj", down: m + "down_proj", width: sharedWidth),
                    gate: try linear(p + "mlp.shared_expert_gate", 1, d))
        }
        return MixtureOfExperts(layer: layer, router: router, experts: experts, expertsPerToken: shape.expertsPerToken,
                                normalizesTopK: shape.normalizesTopK, shared: shared)
    }
}
