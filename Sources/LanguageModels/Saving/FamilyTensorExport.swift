import Tensors

extension TransformerModel {
    /// GPT-NeoX's tensors: `gpt_neox.*` names, the fused `query_key_value` re-interleaved per head (head `h`'s query,
    /// key and value rows in turn, as ``GPTNeoXLoader`` splits them), LayerNorm weights and biases, `embed_out`.
    func addGPTNeoXTensors(_ add: (String, Tensor?) -> Void) {
        func linear(_ name: String, _ linear: Linear) {
            add(name + ".weight", linear.weight)
            add(name + ".bias", linear.bias)
        }
        func norm(_ name: String, _ norm: Normalization?) {
            add(name + ".weight", norm?.weight)
            add(name + ".bias", norm?.bias)
        }
        add("gpt_neox.embed_in.weight", tokenEmbedding.dequantized())
        for (l, block) in blocks.enumerated() {
            let p = "gpt_neox.layers.\(l)."
            let a = block.attention, width = a.headDim
            func perHead(_ parts: [Tensor]) -> Tensor {
                Tensor.concatenate((0..<a.heads).flatMap { h in parts.map { $0.slice(axis: 0, (h * width)..<((h + 1) * width)) } }, axis: 0)
            }
            norm(p + "input_layernorm", block.ln1)
            norm(p + "post_attention_layernorm", block.ln2)
            add(p + "attention.query_key_value.weight", perHead([a.query.weight, a.key.weight, a.value.weight]))
            if let q = a.query.bias, let k = a.key.bias, let v = a.value.bias {
                add(p + "attention.query_key_value.bias", perHead([q, k, v]))
            }
            linear(p + "attention.dense", a.output)
            if let mlp = block.mlp {
                linear(p + "mlp.dense_h_to_4h", mlp.input)
                linear(p + "mlp.dense_4h_to_h", mlp.output)
            }
        }
        norm("gpt_neox.final_layer_norm", finalNorm)
        if !tiedEmbeddings { add("embed_out.weight", unembedding.dequantized()) }
    }

    /// Gemma's tensors: the Llama names, every RMSNorm weight stored as `gain - 1` (the checkpoint's convention,
    /// undone by ``GemmaLoader``), and Gemma-2/3's four block norms.
    func addGemmaTensors(_ add: (String, Tensor?) -> Void, version: ModelConfiguration.GemmaVersion) {
        func norm(_ name: String, _ norm: Normalization?) { add(name + ".weight", norm.map { $0.weight - 1 }) }
        add("model.embed_tokens.weight", tokenEmbedding.dequantized())
        for (l, block) in blocks.enumerated() {
            let p = "model.layers.\(l)."
            let a = block.attention
            norm(p + "input_layernorm", block.ln1)
            Self.addLlamaLayoutAttention(add, block: block, prefix: p)
            norm(p + "self_attn.q_norm", a.queryNorm)
            norm(p + "self_attn.k_norm", a.keyNorm)
            if version == .gemma {
                norm(p + "post_attention_layernorm", block.ln2)
            } else {
                norm(p + "post_attention_layernorm", block.postAttentionNorm)
                norm(p + "pre_feedforward_layernorm", block.ln2)
                norm(p + "post_feedforward_layernorm", block.postFeedForwardNorm)
            }
            Self.addLlamaLayoutMLP(add, block: block, prefix: p)
        }
        norm("model.norm", finalNorm)
        if !tiedEmbeddings { add("lm_head.weight", unembedding.dequantized()) }
    }

    /// Phi-3's tensors: the Llama names with `qkv_proj` (query, key, value rows) and `gate_up_proj` (gate, up rows)
    /// fused again.
    func addPhi3Tensors(_ add: (String, Tensor?) -> Void) {
        add("model.embed_tokens.weight", tokenEmbedding.dequantized())
        for (l, block) in blocks.enumerated() {
            let p = "model.layers.\(l)."
            let a = block.attention
            add(p + "input_layernorm.weight", block.ln1?.weight)
            add(p + "self_attn.qkv_proj.weight", Tensor.concatenate([a.query.weight, a.key.weight, a.value.weight], axis: 0))
            add(p + "self_attn.o_proj.weight", a.output.weight)
            add(p + "post_attention_layernorm.weight", block.ln2?.weight)
            if let mlp = block.mlp, let gate = mlp.gate {
                add(p + "mlp.gate_up_proj.weight", Tensor.concatenate([gate.weight, mlp.input.weight], axis: 0))
                add(p + "mlp.down_proj.weight", mlp.output.weight)
            }
        }
        add("model.norm.weight", finalNorm.weight)
        if !tiedEmbeddings { add("lm_head.weight", unembedding.dequantized()) }
    }

    /// OLMo-2's tensors: the Llama names, q/k norms over the whole projection, and the norms after attention and
    /// MLP (`post_attention_layernorm`, `post_feedforward_layernorm`) instead of before.
    func addOLMo2Tensors(_ add: (String, Tensor?) -> Void) {
        add("model.embed_tokens.weight", tokenEmbedding.dequantized())
        for (l, block) in blocks.enumerated() {
            let p = "model.layers.\(l)."
            let a = block.attention
            Self.addLlamaLayoutAttention(add, block: block, prefix: p)
            add(p + "self_attn.q_norm.weight", a.queryNorm?.weight)
            add(p + "self_attn.k_norm.weight", a.keyNorm?.weight)
            add(p + "post_attention_layernorm.weight", block.postAttentionNorm?.weight)
            add(p + "post_feedforward_layernorm.weight", block.postFeedForwardNorm?.weight)
            Self.addLlamaLayoutMLP(add, block: block, prefix: p)
        }
        add("model.norm.weight", finalNorm.weight)
        if !tiedEmbeddings { add("lm_head.weight", unembedding.dequantized()) }
    }

    /// OLMoE's tensors: the Llama layout's attention and norms, the whole-projection q/k norms, and per block the
    /// router `mlp.gate` and each expert's `mlp.experts.E.{gate,up,down}_proj`.
    func addOLMoETensors(_ add: (String, Tensor?) -> Void) {
        add("model.embed_tokens.weight", tokenEmbedding.dequantized())
        for (l, block) in blocks.enumerated() {
            let p = "model.layers.\(l)."
            add(p + "input_layernorm.weight", block.ln1?.weight)
            Self.addLlamaLayoutAttention(add, block: block, prefix: p)
            add(p + "self_attn.q_norm.weight", block.attention.queryNorm?.weight)
            add(p + "self_attn.k_norm.weight", block.attention.keyNorm?.weight)
            add(p + "post_attention_layernorm.weight", block.ln2?.weight)
            if let mixture = block.mixture { Self.addMixture(add, mixture, prefix: p, layout: .mlp) }
        }
        add("model.norm.weight", finalNorm.weight)
        if !tiedEmbeddings { add("lm_head.weight", unembedding.dequantized()) }
    }
}
