/// Reads one layer's ``MixtureOfExperts`` from a checkpoint, under either tensor layout of transformers' mixtures.
enum MixtureLoading {
    /// Where a checkpoint keeps a mixture's tensors, under `model.layers.L.`.
    enum Layout {
        /// OLMoE and Qwen-MoE: the router `mlp.gate`, experts `mlp.experts.E.{gate,up,down}_proj`, and Qwen2-MoE's
        /// shared expert `mlp.shared_expert.{gate,up,down}_proj` with its gate `mlp.shared_expert_gate`.
        case mlp
        /// Mixtral: the router `block_sparse_moe.gate`, experts `block_sparse_moe.experts.E.{w1,w3,w2}` (gate, up, down).
        case blockSparseMoE

        /// Where mlx-lm's converter stacks the experts: `switch_mlp.{gate,up,down}_proj` with a leading expert axis.
        var stackedExperts: String { self == .mlp ? "mlp.switch_mlp." : "block_sparse_moe.switch_mlp." }
    }

    /// Layer `layer`'s mixture of `c.mixture`'s shape; bias-free projections in the stored dtype or MLX-packed. The
    /// experts are read per expert as transformers stores them or, when the checkpoint has them, from mlx-lm's stacked
    /// `switch_mlp` modules (``WeightSource/stackedExpertMatrices(module:experts:shape:quantization:)``).
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
        // The experts before the router: a wrong expert count is then reported on the experts' tensors, which a GGUF
        // file's loader maps back to its expert_count.
        let experts: [FeedForward]
        let stacked = p + layout.stackedExperts
        if w.has(stacked + "gate_proj.weight") {
            func matrices(_ name: String, _ outputs: Int, _ inputs: Int) throws -> [WeightMatrix] {
                try w.stackedExpertMatrices(module: stacked + name, experts: shape.experts, shape: [outputs, inputs],
                                            quantization: c.quantization)
            }
            let (gates, ups, downs) = (try matrices("gate_proj", width, d), try matrices("up_proj", width, d), try matrices("down_proj", d, width))
            experts = (0..<shape.experts).map { e in
                FeedForward(input: Linear(matrix: ups[e], bias: nil), gate: Linear(matrix: gates[e], bias: nil),
                            output: Linear(matrix: downs[e], bias: nil), activation: c.activation)
            }
        } else {
            let (m, names) = layout == .mlp ? (p + "mlp.experts.", ["gate_proj", "up_proj", "down_proj"])
                                            : (p + "block_sparse_moe.experts.", ["w1", "w3", "w2"])
            experts = try (0..<shape.experts).map { e in
                try gatedMLP(gate: m + "\(e)." + names[0], up: m + "\(e)." + names[1], down: m + "\(e)." + names[2], width: width)
            }
        }
        let router = try linear(p + (layout == .mlp ? "mlp.gate" : "block_sparse_moe.gate"), shape.experts, d)
        let shared = try shape.sharedExpertWidth.map { sharedWidth in
            let m = p + "mlp.shared_expert."
            return (expert: try gatedMLP(gate: m + "gate_proj", up: m + "up_proj", down: m + "down_proj", width: sharedWidth),
                    gate: try linear(p + "mlp.shared_expert_gate", 1, d))
        }
        return MixtureOfExperts(layer: layer, router: router, experts: experts, expertsPerToken: shape.expertsPerToken,
                                normalizesTopK: shape.normalizesTopK, shared: shared)
    }
}
