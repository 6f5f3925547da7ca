import Tensors

extension TransformerModel {
    /// Phi's tensors: `model.*` names with every projection's bias, the one `input_layernorm` (the block's `ln1`,
    /// which its `ln2` must equal), the per-head `q_layernorm` / `k_layernorm`, `model.final_layernorm` and
    /// `lm_head.bias` (also when the weight is tied).
    func addPhiTensors(_ add: (String, Tensor?) -> Void) throws {
        func norm(_ name: String, _ norm: Normalization?) {
            add(name + ".weight", norm?.weight)
            add(name + ".bias", norm?.bias)
        }
        add("model.embed_tokens.weight", tokenEmbedding.dequantized())
        for (l, block) in blocks.enumerated() {
            let p = "model.layers.\(l)."
            let a = block.attention
            guard let ln1 = block.ln1, let ln2 = block.ln2, ln1.weight == ln2.weight, ln1.bias == ln2.bias else {
                throw SavingError("block \(l): Phi has one input_layernorm for attention and MLP, but ln1 and ln2 differ")
            }
            norm(p + "input_layernorm", ln1)
            Self.addLinear(add, p + "self_attn.q_proj", a.query)
            Self.addLinear(add, p + "self_attn.k_proj", a.key)
            Self.addLinear(add, p + "self_attn.v_proj", a.value)
            Self.addLinear(add, p + "self_attn.dense", a.output)
            norm(p + "self_attn.q_layernorm", a.queryNorm)
            norm(p + "self_attn.k_layernorm", a.keyNorm)
            Self.addLinear(add, p + "mlp.fc1", block.mlp?.input)
            Self.addLinear(add, p + "mlp.fc2", block.mlp?.output)
        }
        norm("model.final_layernorm", finalNorm)
        if !tiedEmbeddings { add("lm_head.weight", unembedding.dequantized()) }
        add("lm_head.bias", unembeddingBias)
    }

    /// OLMo's tensors: the Llama names without norm tensors, the norms having no gain or bias (which the model's
    /// must then be: unit gains, no biases).
    func addOLMoTensors(_ add: (String, Tensor?) -> Void) throws {
        let norms = blocks.flatMap { [$0.ln1, $0.ln2] } + [finalNorm]
        guard norms.allSatisfy({ $0 != nil && $0!.bias == nil && $0!.weight.scalars.allSatisfy { $0 == 1 } }) else {
            throw SavingError("OLMo's LayerNorms have no gain or bias, but this model's norms are not all unit-gain without bias")
        }
        add("model.embed_tokens.weight", tokenEmbedding.dequantized())
        for (l, block) in blocks.enumerated() {
            Self.addLlamaLayoutAttention(add, block: block, prefix: "model.layers.\(l).")
            Self.addLlamaLayoutMLP(add, block: block, prefix: "model.layers.\(l).")
        }
        if !tiedEmbeddings { add("lm_head.weight", unembedding.dequantized()) }
    }
}
