import Tensors

extension GGUFWeights {
    /// One expert's projection (`kind`: `gate`, `up` or `down`) of a mixture-of-experts layer, under llama.cpp's
    /// names: ``stacked``, the tensor holding every expert's matrix (`[experts, rows, columns]`, what convert_hf_to_gguf
    /// writes), or ``split(_:)``, one expert's own matrix in older Mixtral files.
    struct ExpertPart {
        let layer: Int
        let expert: Int
        let kind: String
        /// `blk.L.ffn_{gate,up,down}_exps.weight`.
        var stacked: String { "blk.\(layer).ffn_\(kind)_exps.weight" }
        /// `blk.L.ffn_{gate,up,down}.E.weight`, expert `index`'s matrix in the older per-expert layout.
        func split(_ index: Int) -> String { "blk.\(layer).ffn_\(kind).\(index).weight" }
    }

    /// The expert projection that the Hugging Face module `module` is, nil for any other module: OLMoE's
    /// `model.layers.L.mlp.experts.E.{gate,up,down}_proj` and Mixtral's `model.layers.L.block_sparse_moe.experts.E.{w1,w3,w2}`.
    static func expertPart(_ module: String) -> ExpertPart? {
        let parts = module.split(separator: ".").map(String.init)
        guard parts.count == 7, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]),
              (parts[3] == "mlp" || parts[3] == "block_sparse_moe"), parts[4] == "experts", let expert = Int(parts[5]),
              let kind = ["gate_proj": "gate", "up_proj": "up", "down_proj": "down", "w1": "gate", "w3": "up", "w2": "down"][parts[6]]
        else { return nil }
        return ExpertPart(layer: layer, expert: expert, kind: kind)
    }

    /// The `[out, in]` matrix (`shape`) of one expert, for the Hugging Face tensor `name`: a view of its rows in the
    /// stacked tensor, in the stored type and in place (F32 ones copied to a dense tensor, as every F32 matrix is), or
    /// its own tensor in an older per-expert file. Throws naming the tensor when it is missing or when its shape
    /// disagrees with `shape` and the `expert_count` of the metadata.
    func expertWeightMatrix(_ part: ExpertPart, name: String, shape: [Int]) throws -> WeightMatrix {
        let path = file.url.path, experts = expertCount ?? 0
        if let info = file.tensorInfos[part.stacked] {
            guard info.shape == [experts] + shape else {
                throw LoadingError("\(path): tensor '\(part.stacked)' (for \(name)): expected shape \([experts] + shape) (\(experts) experts, \(architecture).expert_count), found \(info.shape)")
            }
            let matrix = try file.expertMatrix(named: part.stacked, expert: part.expert)
            return info.type == .f32 ? .dense(matrix.dequantized()) : halfPrecisionOrPacked(matrix)
        }
        let split = part.split(part.expert)
        guard let info = file.tensorInfos[split] else {
            throw LoadingError("\(path): tensor '\(part.stacked)' (for \(name)) is missing, and so is the per-expert '\(split)' of older files")
        }
        guard info.shape == shape else {
            throw LoadingError("\(path): tensor '\(split)' (for \(name)): expected shape \(shape), found \(info.shape)")
        }
        if part.expert == 0, file.has(part.split(experts)) {
            throw LoadingError("\(path): tensor '\(part.split(experts))' is an expert beyond the \(experts) of \(architecture).expert_count")
        }
        return info.type == .f32 ? .dense(try file.tensor(named: split)) : halfPrecisionOrPacked(try file.matrix(named: split))
    }
}
