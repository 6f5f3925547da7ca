extension ConfigurationChecker {
    /// The rotary embedding that a `rope_parameters` / `rope_scaling` object (named `field` in errors) describes
    /// for heads of `headDim` dimensions, of which transformers rotates `int(headDim × partialRotaryFactor)`.
    ///
    /// Supported `rope_type`s: `default`, `linear` and `llama3`; any other is refused by name.
    func rotaryEmbedding(_ parameters: RopeParametersFile?, field: String, theta: Double, partialRotaryFactor: Double,
                         headDim: Int, maxPositions: Int) throws -> RotaryEmbedding {
        guard theta > 0 else { throw error("rope_theta", "must be positive, found \(theta)") }
        guard partialRotaryFactor > 0 && partialRotaryFactor <= 1 else {
            throw error("partial_rotary_factor", "must be in (0, 1], found \(partialRotaryFactor)")
        }
        let rotaryDim = Int(Double(headDim) * partialRotaryFactor)
        guard rotaryDim > 0 && rotaryDim % 2 == 0 else {
            throw error("partial_rotary_factor", "\(partialRotaryFactor) of head_dim \(headDim) rotates \(rotaryDim) dimensions; "
                        + "a positive even number is needed")
        }
        func required(_ value: Double?, _ key: String) throws -> Double {
            guard let value else { throw error("\(field).\(key)", "is missing") }
            guard value > 0 else { throw error("\(field).\(key)", "must be positive, found \(value)") }
            return value
        }
        let type = parameters?.ropeType ?? parameters?.type ?? "default"
        let scaling: RotaryEmbedding.Scaling
        switch type {
        case "default":
            scaling = .none
        case "linear":
            scaling = .linear(factor: try required(parameters?.factor, "factor"))
        case "llama3":
            let low = try required(parameters?.lowFreqFactor, "low_freq_factor")
            let high = try required(parameters?.highFreqFactor, "high_freq_factor")
            guard high > low else {
                throw error("\(field).high_freq_factor", "\(high) must exceed low_freq_factor \(low)")
            }
            scaling = .llama3(
                factor: try required(parameters?.factor, "factor"), lowFrequencyFactor: low, highFrequencyFactor: high,
                originalMaxPositionEmbeddings: parameters?.originalMaxPositionEmbeddings ?? maxPositions
            )
        default:
            throw error("\(field).rope_type", "'\(type)' is not supported (supported: default, linear, llama3)")
        }
        return RotaryEmbedding(headDim: headDim, rotaryDim: rotaryDim, base: theta, scaling: scaling)
    }
}
