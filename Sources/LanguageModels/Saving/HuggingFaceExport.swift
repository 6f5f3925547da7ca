import Foundation

extension TransformerModel {
    /// The model's tensors under the Hugging Face names and layouts of `configuration`'s family: the inverse of
    /// ``load(_:)``.
    ///
    /// GPT-2 gets `transformer.*` names, `Conv1D` weights stored `[in, out]` and the fused `c_attn` (q, k, v
    /// stacked); the Llama family gets `model.*` names with `[out, in]` weights; GPT-NeoX, Gemma, Phi-3 and OLMo-2
    /// their own names with fused projections fused again (see `FamilyTensorExport.swift`). Tied embeddings are
    /// stored once (no `lm_head.weight`).
    ///
    /// - Throws: ``SavingError`` when the model's structure differs from what `configuration` describes.
    public func huggingFaceTensors(configuration: ModelConfiguration) throws -> [(name: String, tensor: Tensor)] {
        let c = configuration
        guard layerCount == c.nLayers, dModel == c.dModel, vocabularySize == c.vocabularySize, tiedEmbeddings == c.tiedEmbeddings,
              blocks.allSatisfy({ $0.attention.heads == c.nHeads && $0.attention.keyValueHeads == c.nKVHeads && $0.attention.headDim == c.dHead })
        else {
            throw SavingError("the model (\(layerCount) layers, d_model \(dModel), vocabulary \(vocabularySize), heads \(headCount), tied \(tiedEmbeddings)) "
                              + "does not match the configuration (\(c.nLayers) layers, d_model \(c.dModel), vocabulary \(c.vocabularySize), heads \(c.nHeads), tied \(c.tiedEmbeddings))")
        }
        guard hasMLPs else { throw SavingError("attention-only models have no Hugging Face layout") }
        var tensors: [(name: String, tensor: Tensor)] = []
        func add(_ name: String, _ tensor: Tensor?) {
            if let tensor { tensors.append((name, tensor)) }
        }
        switch c.family {
        case .gpt2: addGPT2Tensors(add)
        case .llama(let variant): addLlamaTensors(add, variant: variant)
        case .gptNeoX: addGPTNeoXTensors(add)
        case .gemma(let version): addGemmaTensors(add, version: version)
        case .phi3: addPhi3Tensors(add)
        case .olmo2, .olmo3: addOLMo2Tensors(add)
        case .phi: try addPhiTensors(add)
        case .olmo: try addOLMoTensors(add)
        case .olmoe: addOLMoETensors(add)
        }
        try checkRoundTrip(tensors, configuration: c)
        return tensors
    }

    /// Writes a Hugging Face model directory that both ``load(_:)`` and transformers read: `config.json`,
    /// `model.safetensors` (with `"format": "pt"` metadata) and, when given, the tokenizer files. Each file is
    /// written atomically; other files in `directory` are left alone.
    ///
    /// ```swift
    /// try model.save(to: URL(fileURLWithPath: "tiny-ioi"), configuration: configuration,
    ///                tokenizer: TokenizerFiles(tokenizerJSON: vocabulary.tokenizerJSON()))
    /// ```
    ///
    /// - Parameter dtype: `.float32`, `.float16` or `.bfloat16`; recorded as `dtype` in `config.json`.
    public func save(to directory: URL, configuration: ModelConfiguration, tokenizer: TokenizerFiles? = nil,
                     dtype: SafetensorsDType = .float32) throws {
        let dtypeNames: [SafetensorsDType: String] = [.float32: "float32", .float16: "float16", .bfloat16: "bfloat16"]
        guard let dtypeName = dtypeNames[dtype] else {
            throw SavingError("\(directory.path): weights are saved as F32, F16 or BF16, not \(dtype.rawValue)")
        }
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for (name, tensor) in try huggingFaceTensors(configuration: configuration) {
            writer.add(tensor, named: name, as: dtype)
        }
        var saved = configuration
        saved.dtype = dtypeName
        saved.quantization = nil    // quantized weights are written dequantized
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw SavingError("\(directory.path): cannot create the directory: \(error.localizedDescription)")
        }
        try AtomicFile.write(try saved.configJSON(), to: directory.appendingPathComponent("config.json"))
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
        if let tokenizer {
            try AtomicFile.write(Data(tokenizer.tokenizerJSON.utf8), to: directory.appendingPathComponent("tokenizer.json"))
            if let config = tokenizer.tokenizerConfigJSON {
                try AtomicFile.write(Data(config.utf8), to: directory.appendingPathComponent("tokenizer_config.json"))
            }
        }
    }

    private func addGPT2Tensors(_ add: (String, Tensor?) -> Void) {
        func norm(_ name: String, _ norm: Normalization?) {
            add(name + ".weight", norm?.weight)
            add(name + ".bias", norm?.bias)
        }
        func conv1D(_ name: String, _ linear: Linear) {
            add(name + ".weight", linear.weight.transposed())
            add(name + ".bias", linear.bias)
        }
        add("transformer.wte.weight", tokenEmbedding.dequantized())
        add("transformer.wpe.weight", positionEmbedding)
        for (l, block) in blocks.enumerated() {
            let p = "transformer.h.\(l)."
            let a = block.attention
            norm(p + "ln_1", block.ln1)
            add(p + "attn.c_attn.weight", Tensor.concatenate([a.query.weight, a.key.weight, a.value.weight], axis: 0).transposed())
            if let q = a.query.bias, let k = a.key.bias, let v = a.value.bias {
                add(p + "attn.c_attn.bias", Tensor.concatenate([q, k, v], axis: 0))
            }
            conv1D(p + "attn.c_proj", a.output)
            norm(p + "ln_2", block.ln2)
            if let mlp = block.mlp {
                conv1D(p + "mlp.c_fc", mlp.input)
                conv1D(p + "mlp.c_proj", mlp.output)
            }
        }
        norm("transformer.ln_f", finalNorm)
        if !tiedEmbeddings { add("lm_head.weight", unembedding.dequantized()) }
    }

    private func addLlamaTensors(_ add: (String, Tensor?) -> Void, variant: ModelConfiguration.LlamaVariant) {
        add("model.embed_tokens.weight", tokenEmbedding.dequantized())
        for (l, block) in blocks.enumerated() {
            let p = "model.layers.\(l)."
            let a = block.attention
            add(p + "input_layernorm.weight", block.ln1?.weight)
            Self.addLlamaLayoutAttention(add, block: block, prefix: p)
            add(p + "self_attn.q_norm.weight", a.queryNorm?.weight)
            add(p + "self_attn.k_norm.weight", a.keyNorm?.weight)
            add(p + "post_attention_layernorm.weight", block.ln2?.weight)
            Self.addLlamaLayoutMLP(add, block: block, prefix: p, mixtureLayout: variant == .mixtral ? .blockSparseMoE : .mlp)
        }
        add("model.norm.weight", finalNorm.weight)
        if !tiedEmbeddings { add("lm_head.weight", unembedding.dequantized()) }
    }

    /// Checks that loading `tensors` with `configuration` rebuilds a model with exactly this model's parameters
    /// (so no bias, norm or projection is dropped or invented by the export).
    private func checkRoundTrip(_ tensors: [(name: String, tensor: Tensor)], configuration: ModelConfiguration) throws {
        let rebuilt: TransformerModel
        do {
            rebuilt = try TransformerModel.build(configuration, weights: NamedTensors(tensors))
        } catch {
            throw SavingError("the model does not fit its configuration: \(error)")
        }
        let mine = parameters.map { "\($0.name) \($0.tensor.shape)" }
        let theirs = rebuilt.parameters.map { "\($0.name) \($0.tensor.shape)" }
        guard mine == theirs else {
            let extra = Set(mine).subtracting(theirs).sorted(), missing = Set(theirs).subtracting(mine).sorted()
            throw SavingError("the model does not fit its configuration: the configuration has no place for \(extra) "
                              + "and expects \(missing)")
        }
    }

    /// One block's attention projections under the Llama layout's names (`self_attn.{q,k,v,o}_proj`), shared
    /// by the Llama, Gemma and OLMo-2 exports.
    static func addLlamaLayoutAttention(_ add: (String, Tensor?) -> Void, block: TransformerBlock, prefix p: String) {
        let a = block.attention
        addLinear(add, p + "self_attn.q_proj", a.query)
        addLinear(add, p + "self_attn.k_proj", a.key)
        addLinear(add, p + "self_attn.v_proj", a.value)
        addLinear(add, p + "self_attn.o_proj", a.output)
    }

    /// One block's gated MLP under the Llama layout's names (`mlp.{gate,up,down}_proj`), or its mixture of experts
    /// (``addMixture(_:_:prefix:layout:)``; Mixtral's under `block_sparse_moe`, the Qwen mixtures' under `mlp`).
    static func addLlamaLayoutMLP(_ add: (String, Tensor?) -> Void, block: TransformerBlock, prefix p: String,
                                  mixtureLayout: MixtureLoading.Layout = .mlp) {
        if let mixture = block.mixture { addMixture(add, mixture, prefix: p, layout: mixtureLayout) }
        addLinear(add, p + "mlp.gate_proj", block.mlp?.gate)
        addLinear(add, p + "mlp.up_proj", block.mlp?.input)
        addLinear(add, p + "mlp.down_proj", block.mlp?.output)
    }

    /// A mixture's router, experts and shared expert under the names ``MixtureLoading`` reads them by.
    static func addMixture(_ add: (String, Tensor?) -> Void, _ mixture: MixtureOfExperts, prefix p: String,
                           layout: MixtureLoading.Layout) {
        let (router, names) = layout == .mlp ? ("mlp.gate", ["gate_proj", "up_proj", "down_proj"])
                                             : ("block_sparse_moe.gate", ["w1", "w3", "w2"])
        let experts = layout == .mlp ? "mlp.experts." : "block_sparse_moe.experts."
        func addGated(_ prefix: String, _ mlp: FeedForward) {
            addLinear(add, prefix + names[0], mlp.gate)
            addLinear(add, prefix + names[1], mlp.input)
            addLinear(add, prefix + names[2], mlp.output)
        }
        addLinear(add, p + router, mixture.router)
        for (e, expert) in mixture.experts.enumerated() { addGated(p + experts + "\(e).", expert) }
        if let shared = mixture.shared {
            addGated(p + "mlp.shared_expert.", shared.expert)
            addLinear(add, p + "mlp.shared_expert_gate", shared.gate)
        }
    }

    /// A linear layer's `weight` and (when it has one) `bias`.
    static func addLinear(_ add: (String, Tensor?) -> Void, _ name: String, _ linear: Linear?) {
        add(name + ".weight", linear?.weight)
        add(name + ".bias", linear?.bias)
    }
}
