extension SparseAutoencoder {
    /// An input normalized per row, with the inverse map for its reconstruction (SAELens'
    /// `run_time_activation_norm_fn_in` / `_out`, whose factors depend on the input only).
    struct NormalizedInput {
        let value: Tensor
        let restore: (Tensor) -> Tensor
    }

    /// The input `[..., dIn]` normalized as the configuration asks.
    func normalized(_ x: Tensor) -> NormalizedInput {
        let last = x.rank - 1
        switch configuration.normalization {
        case .none:
            return NormalizedInput(value: x) { $0 }
        case .constantNormRescale:
            let factor = x.squared().sum(axis: last, keepingDimension: true).sqrt().pow(-1) * Float(configuration.dIn).squareRoot()
            return NormalizedInput(value: x * factor) { $0 / factor }
        case .layerNorm:
            let mean = x.mean(axis: last, keepingDimension: true)
            let centred = x - mean
            let n = Float(configuration.dIn)
            let std = (centred.squared().sum(axis: last, keepingDimension: true) / Swift.max(n - 1, 1)).sqrt()
            return NormalizedInput(value: centred / (std + 1e-5)) { $0 * std + mean }
        }
    }
}
