extension Intervention {
    /// Sets feature `feature` of a spliced `sae` to `value` at `positions` (nil: every position); `value` 0 ablates it.
    ///
    /// An intervention at `<hook>.hook_sae_acts_post`, run with ``TransformerModel/trace(_:saes:cache:interventions:hooks:gradients:logitPositions:byteLimit:)``:
    /// with the SAE's error term kept, the model's output changes by exactly the feature's decoded change.
    ///
    /// ```swift
    /// let ablate = try Intervention.setFeature(17, of: sae, to: 0, positions: [5])
    /// let logits = try model.trace(batch, saes: [sae], cache: nil, interventions: [ablate]).logits
    /// ```
    public static func setFeature(_ feature: Int, of sae: SparseAutoencoder, to value: Float = 0,
                                  positions: [Int]? = nil) throws -> Intervention {
        let width = sae.configuration.dSAE
        guard feature >= 0 && feature < width else {
            throw SparseAutoencoderError.featureOutOfRange(hook: sae.hookName, feature: feature, dSAE: width)
        }
        var selected = [Float](repeating: 0, count: width)
        selected[feature] = 1
        let column = Tensor(shape: [width], scalars: selected)
        return Intervention(at: sae.hookName(.featureActivations), positions: positions,
                            .custom { features in features * (1 - column) + column * value })
    }
}
