import Foundation

extension ConfigurationChecker {
    /// The rotary embedding of a family whose transformers code rotates whole heads (`family`, in errors): a
    /// `partial_rotary_factor` other than 1 is refused; `rope_theta` is the object's own, else `theta`.
    func wholeHeadRotaryEmbedding(_ parameters: RopeParametersFile?, field: String, theta: Double, family: String,
                                  headDim: Int, maxPositions: Int, originalMaxPositions: Int? = nil) throws -> RotaryEmbedding {
        if let partial = parameters?.partialRotaryFactor, partial != 1 {
            throw error("\(field).partial_rotary_factor", "\(partial) is not supported: \(family) rotates whole heads")
        }
        return try rotaryEmbedding(parameters, field: field, theta: parameters?.ropeTheta ?? theta, partialRotaryFactor: 1,
                                   headDim: headDim, maxPositions: maxPositions, originalMaxPositions: originalMaxPositions)
    }

    /// An older `rope_scaling` of a family whose rotary parameters are keyed by layer type (Gemma 3, OLMo-3), as
    /// transformers applies it: merged into the `full_attention` entry (``RopeParametersFile/asLayerTypeEntry``).
    /// One naming its type by the legacy key `type` alone is refused: transformers 5 merges it into an entry whose
    /// `rope_type` is already "default" and so ignores the scaling, where transformers 4 applied it.
    func fullAttentionScaling(_ scaling: RopeParametersFile?) throws -> RopeParametersFile? {
        if let scaling, scaling.ropeType == nil, let type = scaling.type, type != "default" {
            throw error("rope_scaling.type", "'\(type)' without rope_type is ambiguous: transformers 5 keeps the "
                        + "full-attention layers' rope_type 'default' (ignoring the scaling), transformers 4 applied it; "
                        + "name it rope_type")
        }
        return scaling?.asLayerTypeEntry
    }

    /// The rotary embedding that a `rope_parameters` / `rope_scaling` object (named `field` in errors) describes
    /// for heads of `headDim` dimensions, of which transformers rotates `int(headDim × partialRotaryFactor)`.
    ///
    /// Supported `rope_type`s: `default`, `linear`, `llama3`, `yarn`, `longrope` (when `allowsLongRoPE`) and
    /// `dynamic`, which is read as `default`: transformers rescales dynamic NTK frequencies only for sequences longer
    /// than `max_position_embeddings`, which this library refuses. Any other type is refused by name.
    /// `originalMaxPositions` is a top-level `original_max_position_embeddings` (any family whose rotary
    /// parameters are one object, not one per layer type; Phi-3's has a default), which transformers prefers to the
    /// one inside the rotary parameters.
    func rotaryEmbedding(_ parameters: RopeParametersFile?, field: String, theta: Double, partialRotaryFactor: Double,
                         headDim: Int, maxPositions: Int, originalMaxPositions: Int? = nil,
                         allowsLongRoPE: Bool = false) throws -> RotaryEmbedding {
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
        let original = originalMaxPositions ?? parameters?.originalMaxPositionEmbeddings ?? maxPositions
        try requirePositive(original, "\(field).original_max_position_embeddings")
        let scaling: RotaryEmbedding.Scaling
        switch type {
        case "default", "dynamic":
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
                originalMaxPositionEmbeddings: original
            )
        case "yarn":
            scaling = try yarn(parameters, field: field, maxPositions: maxPositions, original: original)
        case "longrope" where allowsLongRoPE:
            scaling = try longRoPE(parameters, field: field, rotaryDim: rotaryDim, maxPositions: maxPositions, original: original)
        default:
            let supported = "default, linear, llama3, yarn, dynamic" + (allowsLongRoPE ? ", longrope" : "")
            throw error("\(field).rope_type", "'\(type)' is not supported (supported: \(supported))")
        }
        return RotaryEmbedding(headDim: headDim, rotaryDim: rotaryDim, base: theta, scaling: scaling)
    }

    /// Ministral 3's query scaling from the rotary object (named `field`): `llama_4_scaling_beta` is required (transformers'
    /// attention multiplies by it unconditionally), and so is `original_max_position_embeddings` unless the rotary type
    /// is one whose standardization fills it in with `max_position_embeddings` (llama3, yarn, longrope).
    func queryPositionScaling(_ parameters: RopeParametersFile?, field: String, maxPositions: Int) throws -> QueryPositionScaling {
        guard let beta = parameters?.llama4ScalingBeta else {
            throw error("\(field).llama_4_scaling_beta", "is missing (transformers' Ministral3 attention scales its queries by it)")
        }
        guard beta.isFinite else { throw error("\(field).llama_4_scaling_beta", "must be finite, found \(beta)") }
        let type = parameters?.ropeType ?? parameters?.type ?? "default"
        guard let original = parameters?.originalMaxPositionEmbeddings
                ?? (["llama3", "yarn", "longrope"].contains(type) ? maxPositions : nil) else {
            throw error("\(field).original_max_position_embeddings", "is missing (transformers' Ministral3 attention divides "
                        + "positions by it; only llama3, yarn and longrope default it)")
        }
        try requirePositive(original, "\(field).original_max_position_embeddings")
        return QueryPositionScaling(beta: beta, originalMaxPositionEmbeddings: original)
    }

    /// YaRN's settings as transformers derives them: `factor` defaults to `max_position_embeddings` over the
    /// original context, the attention factor to `0.1 ln(factor) + 1` (or DeepSeek's `mscale` ratio).
    private func yarn(_ parameters: RopeParametersFile?, field: String, maxPositions: Int, original: Int) throws -> RotaryEmbedding.Scaling {
        let factor = parameters?.factor ?? Double(maxPositions) / Double(original)
        guard factor > 0 else { throw error("\(field).factor", "must be positive, found \(factor)") }
        func mscale(_ m: Double) -> Double { RotaryEmbedding.Scaling.yarnAttentionFactor(factor: factor, mscale: m) }
        let attentionFactor: Double
        if let given = parameters?.attentionFactor {
            attentionFactor = given
        } else if let m = parameters?.mscale, let all = parameters?.mscaleAllDim, m != 0, all != 0 {
            attentionFactor = mscale(m) / mscale(all)
        } else {
            attentionFactor = mscale(1)
        }
        // transformers reads `beta_fast or 32`: a zero takes the default too.
        let betaFast = parameters?.betaFast.flatMap { $0 == 0 ? nil : $0 } ?? 32
        let betaSlow = parameters?.betaSlow.flatMap { $0 == 0 ? nil : $0 } ?? 1
        for (value, key) in [(betaFast, "beta_fast"), (betaSlow, "beta_slow"), (attentionFactor, "attention_factor")] where !(value > 0) {
            throw error("\(field).\(key)", "must be positive, found \(value)")
        }
        return .yarn(factor: factor, originalMaxPositionEmbeddings: original, betaFast: betaFast, betaSlow: betaSlow,
                     truncate: parameters?.truncate ?? true, attentionFactor: attentionFactor)
    }

    /// LongRoPE's settings as transformers derives them: the attention factor defaults to
    /// `sqrt(1 + ln(factor) / ln(original))` with `factor = max_position_embeddings / original` (1 when at most 1).
    private func longRoPE(_ parameters: RopeParametersFile?, field: String, rotaryDim: Int, maxPositions: Int,
                          original: Int) throws -> RotaryEmbedding.Scaling {
        var factors: [[Double]] = []
        for (values, key) in [(parameters?.shortFactor, "short_factor"), (parameters?.longFactor, "long_factor")] {
            guard let values else { throw error("\(field).\(key)", "is missing") }
            guard values.count == rotaryDim / 2 else {
                throw error("\(field).\(key)", "has \(values.count) entries; \(rotaryDim / 2) are needed (one per rotated pair)")
            }
            guard values.allSatisfy({ $0 > 0 }) else { throw error("\(field).\(key)", "must be positive") }
            factors.append(values)
        }
        let factor = parameters?.factor ?? Double(maxPositions) / Double(original)
        let attentionFactor = parameters?.attentionFactor
            ?? (factor <= 1 ? 1 : (1 + Foundation.log(factor) / Foundation.log(Double(original))).squareRoot())
        guard attentionFactor > 0 else { throw error("\(field).attention_factor", "must be positive, found \(attentionFactor)") }
        return .longRoPE(shortFactors: factors[0], longFactors: factors[1], originalMaxPositionEmbeddings: original,
                         attentionFactor: attentionFactor)
    }
}
