import Tensors

/// The tensors of a GGUF file under their Hugging Face names (a ``WeightSource``), so that the model loaders
/// build from it as from a safetensors checkpoint.
///
/// Names are translated to llama.cpp's (`model.layers.3.self_attn.q_proj.weight` is `blk.3.attn_q.weight`);
/// matrices stay in their stored type, read in place from the mapped file (dense `Float` copies when F32,
/// ``HalfPrecisionMatrix`` computing in ``computePrecision`` when F16 or BF16, packed ``GGUFMatrix`` when quantized;
/// the rows that are reordered, below, are copies in the stored type); and for the `llama` and `olmo`
/// architectures the rows of the query and key projections (weights and biases) are put back in Hugging Face's order,
/// undoing the interleaving of the two rotary halves of each head that `convert_hf_to_gguf.py` applies. For Gemma
/// (`gemma`, `gemma2`, `gemma3`) the norm weights, which `convert_hf_to_gguf.py` stores as `1 + weight`, are read back
/// minus 1 (as transformers' `Gemma2TensorProcessor` does), and Gemma-2/3's four block norms take llama.cpp's names
/// (`post_attention_norm`, `ffn_norm` before the MLP, `post_ffw_norm`; OLMo-2's two post-norms too). Phi's
/// `self_attn.dense`, `mlp.fc1`, `mlp.fc2` and `model.final_layernorm` are `phi2`'s `attn_output`, `ffn_up`,
/// `ffn_down` and `output_norm`; a `phi2` file's fused `attn_qkv` gives q, k and v as row blocks read in place. Phi-3's fused `self_attn.qkv_proj` and
/// `mlp.gate_up_proj` are `phi3`'s `attn_qkv` and `ffn_up` (rows in the same order). GPT-2's `transformer.wte`,
/// `transformer.wpe`, `transformer.h.N.attn.c_attn` (fused q/k/v), ... are `gpt2`'s `token_embd`, `position_embd`,
/// `blk.N.attn_qkv`, ..., its `Conv1D` weights stored transposed (``conv1DWeight(named:inputs:outputs:)``). A mixture
/// of experts' router (`mlp.gate`, Mixtral's `block_sparse_moe.gate`) is `ffn_gate_inp`, and each expert's projection
/// its rows of the stacked `ffn_{gate,up,down}_exps` or an older file's per-expert tensor (`GGUFExpertWeights.swift`);
/// Qwen2-MoE's `mlp.shared_expert.{gate,up,down}_proj` and `mlp.shared_expert_gate` are `ffn_{gate,up,down}_shexp` and
/// `ffn_gate_inp_shexp` (a `[1, dModel]` matrix or, from older converters, the vector `[dModel]`).
public struct GGUFWeights: WeightSource {
    /// The file the tensors are read from.
    public let file: GGUFFile
    /// Query heads, key-value heads and head width, for undoing the q/k row permutation (nil: rows as stored).
    let permutedHeads: (query: Int, keyValue: Int, width: Int)?
    /// `general.architecture`, which decides the tensor names.
    let architecture: String
    /// Whether norm weights are stored as `1 + weight` (Gemma).
    let normsStoredPlusOne: Bool
    /// Rows of the query and of the key (and value) projections, for taking apart a fused `attn_qkv`.
    let projectionRows: (query: Int, keyValue: Int)
    /// The experts of each mixture-of-experts layer (`<arch>.expert_count`), nil for a dense model.
    let expertCount: Int?
    /// The arithmetic of products with the F16 and BF16 matrices (quantized ones always compute in `Float`).
    public var computePrecision: ComputePrecision

    /// The weights of `file`, whose configuration is `configuration`; F16 and BF16 matrices compute in
    /// `computePrecision`.
    public init(file: GGUFFile, configuration: ModelConfiguration, computePrecision: ComputePrecision = .float32) throws {
        self.file = file
        self.computePrecision = computePrecision
        architecture = try file.string("general.architecture") ?? ""
        normsStoredPlusOne = ModelConfiguration.GemmaVersion(ggufArchitecture: architecture) != nil
        let permuted = ["llama", "olmo", "smollm3", "mistral3"].contains(architecture)
        permutedHeads = permuted ? (configuration.nHeads, configuration.nKVHeads, configuration.dHead) : nil
        projectionRows = (configuration.nHeads * configuration.dHead, configuration.nKVHeads * configuration.dHead)
        expertCount = configuration.mixture?.experts
    }

    /// The llama.cpp name of a Hugging Face tensor or module name, nil when there is none.
    static func ggufName(_ name: String, architecture: String = "llama") -> String? {
        var global = ["model.embed_tokens": "token_embd", "lm_head": "output", "model.norm": "output_norm"]
        var perLayer = ["self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
                        "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
                        "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
                        "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
                        "mlp.gate": "ffn_gate_inp", "block_sparse_moe.gate": "ffn_gate_inp",
                        "mlp.shared_expert.gate_proj": "ffn_gate_shexp", "mlp.shared_expert.up_proj": "ffn_up_shexp",
                        "mlp.shared_expert.down_proj": "ffn_down_shexp", "mlp.shared_expert_gate": "ffn_gate_inp_shexp"]
        if ["gemma2", "gemma3", "olmo2"].contains(architecture) {
            perLayer["post_attention_layernorm"] = "post_attention_norm"
            perLayer["pre_feedforward_layernorm"] = "ffn_norm"
            perLayer["post_feedforward_layernorm"] = "post_ffw_norm"
        }
        if architecture == "phi2" {
            global["model.final_layernorm"] = "output_norm"
            perLayer["self_attn.dense"] = "attn_output"
            perLayer["mlp.fc1"] = "ffn_up"
            perLayer["mlp.fc2"] = "ffn_down"
        }
        if architecture == "phi3" {
            perLayer["self_attn.qkv_proj"] = "attn_qkv"
            perLayer["mlp.gate_up_proj"] = "ffn_up"
        }
        var parts = name.split(separator: ".").map(String.init)
        var layerPath = ["model", "layers"]
        if architecture == "gpt2" {
            // With or without the `transformer.` prefix (both checkpoint styles GPT2Loader reads).
            if parts.first == "transformer" { parts.removeFirst() }
            layerPath = ["h"]
            global = ["wte": "token_embd", "wpe": "position_embd", "ln_f": "output_norm", "lm_head": "output"]
            perLayer = ["ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output", "ln_2": "ffn_norm",
                        "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down"]
        }
        let suffix = ["weight", "bias"].contains(parts.last) ? parts.removeLast() : nil
        let module: String
        let n = layerPath.count
        if parts.count > n + 1, Array(parts[..<n]) == layerPath, let layer = Int(parts[n]),
           let mapped = perLayer[parts[(n + 1)...].joined(separator: ".")] {
            module = "blk.\(layer).\(mapped)"
        } else if let mapped = global[parts.joined(separator: ".")] {
            module = mapped
        } else {
            return nil
        }
        return suffix.map { "\(module).\($0)" } ?? module
    }

    public func has(_ name: String) -> Bool {
        if name.hasSuffix(".weight"), let part = Self.expertPart(String(name.dropLast(".weight".count))) {
            return file.has(part.stacked) || file.has(part.split(part.expert))
        }
        return fusedQKVPart(name) != nil || (Self.ggufName(name, architecture: architecture).map(file.has) ?? false)
    }

    public func tensor(named name: String, shape: [Int]) throws -> Tensor {
        if name.hasSuffix(".weight"), let part = Self.expertPart(String(name.dropLast(".weight".count))) {
            return try expertWeightMatrix(part, name: name, shape: shape).dequantized()
        }
        if let part = fusedQKVPart(name) {
            _ = try checkedFusedInfo(part, name: name, shape: shape)
            return try file.tensor(named: part.stored).slice(axis: 0, part.rows)
        }
        let stored = try storedName(name)
        let info = try checkedInfo(stored, name: name, shape: shape)
        var tensor = try file.tensor(named: stored)
        if info.shape != shape { tensor = tensor.reshaped(shape) }
        if normsStoredPlusOne && stored.hasSuffix("norm.weight") { tensor = tensor - 1 }
        guard let order = rowOrder(stored, rows: shape[0]) else { return tensor }
        return tensor.indexSelect(axis: 0, order)
    }

    public func weightMatrix(module: String, shape: [Int], quantization: MLXQuantization?) throws -> WeightMatrix {
        if let part = Self.expertPart(module) { return try expertWeightMatrix(part, name: "\(module).weight", shape: shape) }
        if let part = fusedQKVPart("\(module).weight") {
            let info = try checkedFusedInfo(part, name: "\(module).weight", shape: shape)
            if info.type == .f32 { return .dense(try file.tensor(named: part.stored).slice(axis: 0, part.rows)) }
            return halfPrecisionOrPacked(try file.matrix(named: part.stored).rowBlock(part.rows))
        }
        let stored = try storedName("\(module).weight")
        let info = try checkedInfo(stored, name: "\(module).weight", shape: shape)
        let order = rowOrder(stored, rows: shape[0])
        if info.shape != shape { return .dense(try file.tensor(named: stored).reshaped(shape)) }
        if info.type == .f32 {
            let values = try file.tensor(named: stored)
            return .dense(order.map { values.indexSelect(axis: 0, $0) } ?? values)
        }
        return halfPrecisionOrPacked(try file.matrix(named: stored, rowOrder: order))
    }

    /// GPT-2's `Conv1D` weight `name`, which convert_hf_to_gguf stores transposed, `[out, in]` like every other
    /// matrix: read as ``weightMatrix(module:shape:quantization:)`` reads a Linear weight (in place, in its type).
    public func conv1DWeight(named name: String, inputs: Int, outputs: Int) throws -> WeightMatrix {
        guard name.hasSuffix(".weight") else { throw LoadingError("\(file.url.path): '\(name)' is not a Conv1D weight name") }
        return try weightMatrix(module: String(name.dropLast(".weight".count)), shape: [outputs, inputs], quantization: nil)
    }

    /// F16 and BF16 matrices as 16-bit matrices computing in ``computePrecision``; others packed.
    func halfPrecisionOrPacked(_ matrix: GGUFMatrix) -> WeightMatrix {
        guard var halfPrecision = matrix.halfPrecisionMatrix() else { return .gguf(matrix) }
        halfPrecision.computePrecision = computePrecision
        return .halfPrecision(halfPrecision)
    }

    /// For the q, k or v weight or bias of a `phi2` file that stores them fused (`blk.N.attn_qkv`, rows q then k
    /// then v, as conversions of phi-2's original checkpoint did), the fused tensor and this part's rows.
    private func fusedQKVPart(_ name: String) -> (stored: String, rows: Range<Int>)? {
        guard architecture == "phi2" else { return nil }
        let parts = name.split(separator: ".")
        guard parts.count == 6, parts[0] == "model", parts[1] == "layers", parts[3] == "self_attn",
              let index = ["q_proj", "k_proj", "v_proj"].firstIndex(of: String(parts[4])) else { return nil }
        let (layer, suffix) = (parts[2], parts[5])
        let fused = "blk.\(layer).attn_qkv.\(suffix)"
        guard !file.has("blk.\(layer).attn_q.\(suffix)"), file.has(fused) else { return nil }
        let (q, kv) = projectionRows
        let rows = [0..<q, q..<(q + kv), (q + kv)..<(q + 2 * kv)][index]
        return (fused, rows)
    }

    /// The description of a fused q/k/v tensor, checked to hold q, k and v rows of `shape`'s width.
    private func checkedFusedInfo(_ part: (stored: String, rows: Range<Int>), name: String, shape: [Int]) throws -> GGUFTensorInfo {
        let info = try file.info(named: part.stored)
        let expected = [projectionRows.query + 2 * projectionRows.keyValue] + shape.dropFirst()
        guard info.shape == expected, shape.first == part.rows.count else {
            throw LoadingError("\(file.url.path): tensor '\(part.stored)' (fused q/k/v, for \(name)): expected shape \(expected), found \(info.shape)")
        }
        return info
    }

    /// The description of `stored` (for `name`), checked to have `shape`; Qwen2-MoE's `shared_expert_gate` `[1, n]`
    /// (`ffn_gate_inp_shexp`, which llama.cpp reads as a vector) may be the vector `[n]`, as older converters squeezed it.
    private func checkedInfo(_ stored: String, name: String, shape: [Int]) throws -> GGUFTensorInfo {
        let info = try file.info(named: stored)
        let squeezed = stored.hasSuffix("ffn_gate_inp_shexp.weight") && shape.count == 2 && shape[0] == 1 && info.shape == [shape[1]]
        guard info.shape == shape || squeezed else {
            throw LoadingError("\(file.url.path): tensor '\(stored)' (for \(name)): expected shape \(shape), found \(info.shape)")
        }
        return info
    }

    private func storedName(_ name: String) throws -> String {
        guard let stored = Self.ggufName(name, architecture: architecture) else {
            throw LoadingError("\(file.url.path): no GGUF tensor corresponds to '\(name)'")
        }
        guard file.has(stored) else {
            throw LoadingError("\(file.url.path): tensor '\(stored)' (for \(name)) is missing")
        }
        return stored
    }

    /// For a permuted query or key tensor of `rows` rows, the stored row of each Hugging Face row: within a head
    /// of width `w`, row `j * w/2 + i` (rotary half `j`, pair `i`) was stored at `2i + j`.
    private func rowOrder(_ stored: String, rows: Int) -> [Int]? {
        guard let heads = permutedHeads else { return nil }
        let parts = stored.split(separator: ".")
        guard parts.count == 4, parts[2] == "attn_q" || parts[2] == "attn_k" else { return nil }
        // convert_hf_to_gguf permutes llama's q/k biases too, but only OLMo's weights.
        if architecture == "olmo" && parts[3] == "bias" { return nil }
        let width = heads.width, half = heads.width / 2
        precondition(rows == (parts[2] == "attn_q" ? heads.query : heads.keyValue) * width, "checked by the shape")
        return (0..<rows).map { row in
            let (head, within) = row.quotientAndRemainder(dividingBy: width)
            let (rotaryHalf, pair) = within.quotientAndRemainder(dividingBy: half)
            return head * width + 2 * pair + rotaryHalf
        }
    }
}
