
/// The logit lens: the final norm and unembedding applied to the residual stream before each layer and
/// after the last, showing what the model "would predict" at each depth.
public struct LogitLens {
    /// One row of the lens: the prediction read off one layer's residual stream.
    public struct Layer {
        /// `"0_pre"`, `"1_pre"`, ..., `"final_post"`.
        public let label: String
        /// The top tokens and their probabilities, most probable first.
        public let topTokens: [(token: Int, probability: Float)]
        /// The target token's rank (0 = top) and probability, when a target was given.
        public let targetRank: Int?
        public let targetProbability: Float?
    }

    public let layers: [Layer]
    /// The read position and example.
    public let position: Int
    public let example: Int
}

extension TransformerModel {
    /// Applies the logit lens to one example at `position` (negative counts back from the last real token).
    ///
    /// Each layer's residual is normalized by the final norm on its own (with its own scale), as the
    /// logit lens is defined, then unembedded.
    public func logitLens(_ batch: TokenBatch, example: Int = 0, position: Int = -1, topK: Int = 5,
                          target: Int? = nil) throws -> LogitLens {
        let (_, cache) = try runWithCache(batch, filter: .kinds([.residPre, .residPost]), logitPositions: .none)
        let stack = try cache.accumulatedResidual()
        let p = batch.resolve(position: position)[example]
        let residuals = stack.tensor.select(axis: 1, example).select(axis: 1, p)       // [layers + 1, d]
        let probabilities = unembed(residuals, hooks: nil).softmax(axis: -1)
        let rows = stack.labels.indices.map { i -> LogitLens.Layer in
            let row = probabilities.select(axis: 0, i)
            let top = row.topK(topK)
            let rank = target.map { t in row.scalars.filter { $0 > row.scalars[t] }.count }
            return LogitLens.Layer(label: stack.labels[i],
                                   topTokens: zip(top.indices[0], top.values.scalars).map { ($0, $1) },
                                   targetRank: rank, targetProbability: target.map { row.scalars[$0] })
        }
        return LogitLens(layers: rows, position: p, example: example)
    }
}
