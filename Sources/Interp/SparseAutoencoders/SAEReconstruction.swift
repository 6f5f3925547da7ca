/// How well an SAE reconstructs its activation on one prompt, and what splicing it costs the model: the feature
/// activations, the reconstruction error and the next-token loss with the activation replaced by the reconstruction.
///
/// ```swift
/// let report = try SAEReconstruction(model: model, sae: sae, tokens: ids)
/// print(report.fractionOfVarianceUnexplained, report.splicedLoss - report.loss)
/// ```
public struct SAEReconstruction {
    /// The feature activations `[positions, dSAE]`.
    public let features: Tensor
    /// The mean over positions and the width of `(x − x̂)²`.
    public let meanSquaredError: Float
    /// `Σ (x − x̂)² / Σ (x − x̄)²`, `x̄` the activation's mean over positions (1 − explained variance).
    public let fractionOfVarianceUnexplained: Float
    /// The mean number of active features per position.
    public let l0: Float
    /// The mean next-token cross-entropy of the model, and with the SAE spliced in without its error term.
    public let loss: Float, splicedLoss: Float
    /// The last position's logits of the model and of the spliced model `[vocab]`.
    public let logits: Tensor, splicedLogits: Tensor

    /// Runs `tokens` (at least two) through the model, then with `sae` spliced in without its error term.
    public init(model: TransformerModel, sae: SparseAutoencoder, tokens: [Int]) throws {
        guard tokens.count >= 2 else { throw SparseAutoencoderError.promptTooShort(tokens.count) }
        var replacing = sae
        replacing.usesErrorTerm = false
        let batch = TokenBatch([tokens])
        let clean = try model.trace(batch, saes: [], cache: .names([sae.hookName]))
        let spliced = try model.trace(batch, saes: [replacing], cache: nil)
        let x = try clean.activations[sae.hookName].reshaped([tokens.count, sae.configuration.dIn])   // heads flattened
        let encoded = sae.encode(x)
        let residual = x - sae.decode(encoded, input: x)
        let squared = residual.squared().sum().item
        features = encoded
        meanSquaredError = squared / Float(x.count)
        fractionOfVarianceUnexplained = squared / (x - x.mean(axis: 0, keepingDimension: true)).squared().sum().item
        l0 = Float(encoded.scalars.filter { $0 != 0 }.count) / Float(tokens.count)
        let vocabulary = clean.logits.shape[2]
        func nextTokenLoss(_ logits: Tensor) -> Float {
            crossEntropy(logits: logits.reshaped([tokens.count, vocabulary]).slice(axis: 0, 0..<(tokens.count - 1)),
                         targets: Array(tokens.dropFirst())).item
        }
        loss = nextTokenLoss(clean.logits)
        splicedLoss = nextTokenLoss(spliced.logits)
        logits = clean.logits.reshaped([tokens.count, vocabulary]).select(axis: 0, tokens.count - 1)
        splicedLogits = spliced.logits.reshaped([tokens.count, vocabulary]).select(axis: 0, tokens.count - 1)
    }
}
