/// A tensor with its name.
public struct NamedTensor {
    public var name: String
    public var tensor: Tensor

    public init(name: String, tensor: Tensor) {
        self.name = name
        self.tensor = tensor
    }
}

extension TransformerModel {
    /// Every trainable tensor of the model, named by its path in this library's structs, in a fixed order:
    /// `tokenEmbedding`, `positionEmbedding`, then per block `blocks.{l}.ln1.weight`, `.ln1.bias`,
    /// `.attention.query.weight`, `.attention.query.bias`, ... `.mlp.output.bias` (then a block's
    /// `postAttentionNorm` / `postFeedForwardNorm`, when present), then `finalNorm.weight`,
    /// `finalNorm.bias`, `unembedding` (absent when tied) and `unembeddingBias`. Only present tensors are listed.
    ///
    /// Quantized (MLX, GGUF) and 16-bit weights are listed as `Float` tensors, dequantized or widened (and a model
    /// built from them by ``replacingParameters(_:)`` holds `Float` weights).
    ///
    /// ```swift
    /// let watched = model.parameters.map { tape.watch($0.tensor) }
    /// let trainable = model.replacingParameters(watched)    // its forward pass is recorded on the tape
    /// ```
    public var parameters: [NamedTensor] {
        var found: [NamedTensor] = []
        _ = mappingParameters { name, tensor in
            found.append(NamedTensor(name: name, tensor: tensor))
            return tensor
        }
        return found
    }

    /// A new model of the same structure with the tensors of ``parameters`` replaced by `values` (same order,
    /// same shapes).
    public func replacingParameters(_ values: [Tensor]) -> TransformerModel {
        var remaining = values[...]
        let model = mappingParameters { name, tensor in
            guard let value = remaining.popFirst() else { preconditionFailure("replacingParameters: no value for '\(name)'") }
            precondition(value.shape == tensor.shape, "replacingParameters: '\(name)' is \(tensor.shape), got \(value.shape)")
            return value
        }
        precondition(remaining.isEmpty, "replacingParameters: \(values.count) values for \(values.count - remaining.count) parameters")
        return model
    }

    /// A new model of the same structure whose every parameter is `transform(name, tensor)`; the one place
    /// that knows where the parameters of a model live.
    public func mappingParameters(_ transform: (String, Tensor) throws -> Tensor) rethrows -> TransformerModel {
        func map(_ name: String, _ tensor: inout Tensor) throws { tensor = try transform(name, tensor) }
        func map(_ name: String, _ tensor: inout Tensor?) throws {
            if var present = tensor { try map(name, &present); tensor = present }
        }
        func map(_ name: String, _ matrix: inout WeightMatrix) throws {
            var tensor = matrix.dequantized()
            try map(name, &tensor)
            matrix = .dense(tensor)
        }
        func map(_ prefix: String, _ linear: inout Linear) throws {
            try map(prefix + ".weight", &linear.matrix)
            try map(prefix + ".bias", &linear.bias)
        }
        func map(_ prefix: String, _ norm: inout Normalization) throws {
            try map(prefix + ".weight", &norm.weight)
            try map(prefix + ".bias", &norm.bias)
        }
        func map(_ prefix: String, _ norm: inout Normalization?) throws {
            if var present = norm { try map(prefix, &present); norm = present }
        }

        var embedding = tokenEmbedding, positions = positionEmbedding, blocks = blocks, finalNorm = finalNorm
        var unembedding = unembedding, unembeddingBias = unembeddingBias
        try map("tokenEmbedding", &embedding)
        try map("positionEmbedding", &positions)
        for l in blocks.indices {
            let p = "blocks.\(l)."
            try map(p + "ln1", &blocks[l].ln1)
            try map(p + "attention.query", &blocks[l].attention.query)
            try map(p + "attention.key", &blocks[l].attention.key)
            try map(p + "attention.value", &blocks[l].attention.value)
            try map(p + "attention.output", &blocks[l].attention.output)
            try map(p + "attention.queryNorm", &blocks[l].attention.queryNorm)
            try map(p + "attention.keyNorm", &blocks[l].attention.keyNorm)
            try map(p + "ln2", &blocks[l].ln2)
            try map(p + "postAttentionNorm", &blocks[l].postAttentionNorm)
            try map(p + "postFeedForwardNorm", &blocks[l].postFeedForwardNorm)
            if var mlp = blocks[l].mlp {
                try map(p + "mlp.input", &mlp.input)
                if var gate = mlp.gate { try map(p + "mlp.gate", &gate); mlp.gate = gate }
                try map(p + "mlp.output", &mlp.output)
                blocks[l].mlp = mlp
            }
            if var mixture = blocks[l].mixture {
                try map(p + "mixture.router", &mixture.router)
                for e in mixture.experts.indices {
                    try map(p + "mixture.experts.\(e).input", &mixture.experts[e].input)
                    if var gate = mixture.experts[e].gate { try map(p + "mixture.experts.\(e).gate", &gate); mixture.experts[e].gate = gate }
                    try map(p + "mixture.experts.\(e).output", &mixture.experts[e].output)
                }
                if var shared = mixture.shared {
                    try map(p + "mixture.sharedExpert.input", &shared.expert.input)
                    if var gate = shared.expert.gate { try map(p + "mixture.sharedExpert.gate", &gate); shared.expert.gate = gate }
                    try map(p + "mixture.sharedExpert.output", &shared.expert.output)
                    try map(p + "mixture.sharedExpertGate", &shared.gate)
                    mixture.shared = shared
                }
                blocks[l].mixture = mixture
            }
        }
        try map("finalNorm", &finalNorm)
        if tiedEmbeddings { unembedding = embedding } else { try map("unembedding", &unembedding) }
        try map("unembeddingBias", &unembeddingBias)
        return TransformerModel(tokenEmbedding: embedding, positionEmbedding: positions, blocks: blocks,
                                finalNorm: finalNorm, unembedding: unembedding, contextLength: contextLength,
                                tiedEmbeddings: tiedEmbeddings, embeddingScale: embeddingScale,
                                finalLogitSoftcap: finalLogitSoftcap, unembeddingBias: unembeddingBias)
    }
}
