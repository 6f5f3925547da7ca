import CKernels
import Foundation

/// Rotary position embeddings in the Hugging Face Llama convention (`rotate_half`, non-interleaved):
/// the first `rotaryDim` dimensions of each head are split into two halves `(x1, x2)` and rotated as
/// `x * cos + (-x2, x1) * sin`; the remaining dimensions pass through (partial rotary).
///
/// ```swift
/// let rope = RotaryEmbedding(headDim: 64, base: 500_000,
///                            scaling: .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4,
///                                             originalMaxPositionEmbeddings: 8192))
/// let q = rope.apply(to: queries, positions: [Array(0..<queries.shape[1])])   // [batch, pos, heads, headDim]
/// ```
public struct RotaryEmbedding: Sendable, Equatable {
    /// How the inverse frequencies are adjusted for longer contexts (`rope_scaling` in `config.json`).
    public enum Scaling: Sendable, Equatable {
        /// The original frequencies `base^(-2i/rotaryDim)`.
        case none
        /// Every frequency divided by `factor` (position interpolation).
        case linear(factor: Double)
        /// Llama 3.1's schedule: low frequencies divided by `factor`, high ones kept, smooth in between.
        case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double,
                    originalMaxPositionEmbeddings: Int)
        /// YaRN (Peng et al. 2023; transformers' `_compute_yarn_parameters`): pair `j`'s frequency blends the
        /// original one and the one divided by `factor`, with weight `ramp(j)` rising linearly from 0 at
        /// `correction(betaFast)` to 1 at `correction(betaSlow)` (rounded outwards when `truncate`), where
        /// `correction(n) = rotaryDim · ln(originalMaxPositionEmbeddings / (2πn)) / (2 ln base)`; `cos` and `sin`
        /// are multiplied by `attentionFactor`.
        case yarn(factor: Double, originalMaxPositionEmbeddings: Int, betaFast: Double, betaSlow: Double, truncate: Bool,
                  attentionFactor: Double)
        /// LongRoPE (Phi-3, transformers' `_compute_longrope_parameters`): pair `j`'s frequency divided by
        /// `shortFactors[j]`, or by `longFactors[j]` in a pass whose largest position is at least
        /// `originalMaxPositionEmbeddings`; `cos` and `sin` are multiplied by `attentionFactor`.
        case longRoPE(shortFactors: [Double], longFactors: [Double], originalMaxPositionEmbeddings: Int,
                      attentionFactor: Double)

        /// YaRN's attention factor as the paper suggests it, transformers' `get_mscale(factor, mscale)` and
        /// llama.cpp's `get_mscale`: `0.1 · mscale · ln(factor) + 1`, or 1 when `factor` is at most 1.
        public static func yarnAttentionFactor(factor: Double, mscale: Double = 1) -> Double {
            factor <= 1 ? 1 : 0.1 * mscale * Foundation.log(factor) + 1
        }
    }

    /// The size of each head.
    public let headDim: Int
    /// How many leading dimensions of each head are rotated (even, at most `headDim`).
    public let rotaryDim: Int
    /// The base wavelength θ (`rope_theta`).
    public let base: Double
    /// The frequency scaling.
    public let scaling: Scaling
    /// One inverse frequency per rotated pair: `rotaryDim / 2` values, as Hugging Face's `inv_freq` (for
    /// LongRoPE, those of passes within the original context).
    public let inverseFrequencies: [Float]
    /// LongRoPE's frequencies for passes beyond the original context; nil for the other scalings.
    public let longInverseFrequencies: [Float]?
    /// The position-dependent factor of the rotated queries (Ministral 3's `llama_4_scaling_beta`), applied by
    /// ``apply(to:positions:queries:)`` with `queries: true`; nil for none.
    public var queryScaling: QueryPositionScaling?
    /// The factor `cos` and `sin` are multiplied by (YaRN and LongRoPE; 1 otherwise).
    public var attentionFactor: Float {
        switch scaling {
        case .yarn(_, _, _, _, _, let factor), .longRoPE(_, _, _, let factor): return Float(factor)
        default: return 1
        }
    }

    /// Creates the embedding; `rotaryDim` defaults to `headDim`.
    public init(headDim: Int, rotaryDim: Int? = nil, base: Double = 10_000, scaling: Scaling = .none,
                queryScaling: QueryPositionScaling? = nil) {
        self.queryScaling = queryScaling
        let rotaryDim = rotaryDim ?? headDim
        precondition(rotaryDim > 0 && rotaryDim % 2 == 0 && rotaryDim <= headDim,
                     "rotary dimension \(rotaryDim) must be even and within head dimension \(headDim)")
        self.headDim = headDim
        self.rotaryDim = rotaryDim
        self.base = base
        self.scaling = scaling
        let plain = stride(from: 0, to: rotaryDim, by: 2).map { i in 1 / Foundation.pow(base, Double(i) / Double(rotaryDim)) }
        switch scaling {
        case .yarn(let factor, let original, let betaFast, let betaSlow, let truncate, _):
            func correction(_ rotations: Double) -> Double {
                Double(rotaryDim) * Foundation.log(Double(original) / (rotations * 2 * Double.pi)) / (2 * Foundation.log(base))
            }
            var low = correction(betaFast), high = correction(betaSlow)
            if truncate { (low, high) = (low.rounded(.down), high.rounded(.up)) }
            low = Swift.max(low, 0)
            high = Swift.min(high, Double(rotaryDim - 1))
            if low == high { high += 0.001 }
            inverseFrequencies = plain.enumerated().map { j, frequency in
                let interpolated = Swift.min(Swift.max((Double(j) - low) / (high - low), 0), 1)
                return Float(frequency / factor * interpolated + frequency * (1 - interpolated))
            }
            longInverseFrequencies = nil
        case .longRoPE(let short, let long, _, _):
            precondition(short.count == rotaryDim / 2 && long.count == rotaryDim / 2,
                         "LongRoPE needs \(rotaryDim / 2) short and long factors, got \(short.count) and \(long.count)")
            inverseFrequencies = zip(plain, short).map { Float($0 / $1) }
            longInverseFrequencies = zip(plain, long).map { Float($0 / $1) }
        default:
            inverseFrequencies = plain.map { Float(RotaryEmbedding.scaled($0, scaling)) }
            longInverseFrequencies = nil
        }
    }

    /// Applies `scaling` to one inverse frequency (transformers' `_compute_*_parameters`).
    private static func scaled(_ inverseFrequency: Double, _ scaling: Scaling) -> Double {
        switch scaling {
        case .none:
            return inverseFrequency
        case .linear(let factor):
            return inverseFrequency / factor
        case .llama3(let factor, let lowFactor, let highFactor, let originalContext):
            let context = Double(originalContext)
            let wavelength = 2 * Double.pi / inverseFrequency
            if wavelength < context / highFactor { return inverseFrequency }
            if wavelength > context / lowFactor { return inverseFrequency / factor }
            let smooth = (context / wavelength - lowFactor) / (highFactor - lowFactor)
            return (1 - smooth) * inverseFrequency / factor + smooth * inverseFrequency
        case .yarn, .longRoPE:
            preconditionFailure("YaRN and LongRoPE frequencies depend on the pair index")
        }
    }

    /// The inverse frequencies of a pass over `positions`: LongRoPE's long ones when a position reaches the
    /// original context (transformers compares `max(position_ids) + 1` with it on every forward call).
    private func frequencies(for positions: [[Int]]) -> [Float] {
        guard case .longRoPE(_, _, let original, _) = scaling, let long = longInverseFrequencies,
              let last = positions.joined().max(), last + 1 > original else { return inverseFrequencies }
        return long
    }

    /// The `cos` and `sin` tables `[batch, pos, rotaryDim]` for the given positions (each angle repeated
    /// for both halves, as Hugging Face's `emb = cat(freqs, freqs)`).
    public func cosSin(positions: [[Int]]) -> (cos: Tensor, sin: Tensor) {
        let batch = positions.count, length = positions.first?.count ?? 0
        precondition(positions.allSatisfy { $0.count == length }, "position rows differ in length")
        let half = rotaryDim / 2
        var cosines = [Float](repeating: 0, count: batch * length * rotaryDim), sines = cosines
        let inverseFrequencies = frequencies(for: positions), factor = attentionFactor
        for (row, position) in positions.joined().enumerated() {
            for i in 0..<half {
                let angle = Float(position) * inverseFrequencies[i]
                let c = Foundation.cos(angle) * factor, s = Foundation.sin(angle) * factor
                cosines[row * rotaryDim + i] = c
                cosines[row * rotaryDim + half + i] = c
                sines[row * rotaryDim + i] = s
                sines[row * rotaryDim + half + i] = s
            }
        }
        let shape = [batch, length, rotaryDim]
        return (Tensor(shape: shape, scalars: cosines), Tensor(shape: shape, scalars: sines))
    }

    /// The tables of ``cosSin(positions:)`` with each position's rows multiplied by ``queryScaling``'s factor:
    /// rotating by them rotates and scales the queries in one step (whole-head rotary only: the unrotated dimensions
    /// of a partial rotary would keep their scale).
    private func queryCosSin(positions: [[Int]]) -> (cos: Tensor, sin: Tensor) {
        let (cosines, sines) = cosSin(positions: positions)
        guard let queryScaling else { return (cosines, sines) }
        let factors = positions.joined().map { queryScaling.factor(position: $0) }
        func scaled(_ table: Tensor) -> Tensor {
            Tensor(shape: table.shape, scalars: table.scalars.enumerated().map { $0.element * factors[$0.offset / rotaryDim] })
        }
        return (scaled(cosines), scaled(sines))
    }

    /// Rotates `x` of shape `[batch, pos, heads, headDim]`; `positions[b][p]` is the position of token `p`
    /// of batch row `b`. With `queries`, the rotated vectors are also multiplied by ``queryScaling``'s factor of
    /// their position (the queries of Ministral 3; keys are never scaled). Differentiable with respect to `x`.
    public func apply(to x: Tensor, positions: [[Int]], queries: Bool = false) -> Tensor {
        precondition(x.rank == 4 && x.shape[3] == headDim, "rotary input must be [batch, pos, heads, \(headDim)], got \(x.shape)")
        precondition(positions.count == x.shape[0] && positions.allSatisfy { $0.count == x.shape[1] },
                     "positions must be [\(x.shape[0])][\(x.shape[1])] for input \(x.shape)")
        let scalesQueries = queries && queryScaling?.scales(positions) == true
        precondition(!scalesQueries || rotaryDim == headDim, "query scaling needs whole-head rotary (\(rotaryDim) of \(headDim) dimensions)")
        let (cosines, sines) = RotaryTableMemo.shared.tables(self, positions: positions, queries: scalesQueries) {
            scalesQueries ? queryCosSin(positions: positions) : cosSin(positions: positions)
        }
        return rotated(x, cosines, sines, inverse: false).recorded(from: [x]) { g in
            // The rotation is orthogonal (times attentionFactor and the query factor, which are the same on every
            // pair): its transpose is the rotation by the opposite angle with the same tables.
            [rotated(g, cosines, sines, inverse: true)]
        }
    }

    /// `x` rotated by the angles in the tables (or by their negatives when `inverse`), without recording.
    private func rotated(_ x: Tensor, _ cosines: Tensor, _ sines: Tensor, inverse: Bool) -> Tensor {
        let tokens = x.shape[0] * x.shape[1], heads = x.shape[2], headDim = headDim, rotaryDim = rotaryDim
        let direction: Float = inverse ? -1 : 1
        guard x.count > 0 else { return x.detached }
        return Tensor.build(shape: x.shape) { out in
            x.scalars.withUnsafeBufferPointer { src in
                cosines.scalars.withUnsafeBufferPointer { cos in
                    sines.scalars.withUnsafeBufferPointer { sin in
                        // Tokens are independent: each range of them is rotated alone.
                        Parallel.forRanges(tokens, work: x.count) { range in
                            let element = range.lowerBound * heads * headDim, table = range.lowerBound * rotaryDim
                            nn_rotary_rows(src.baseAddress! + element, cos.baseAddress! + table, sin.baseAddress! + table,
                                           out.baseAddress! + element, range.count, heads, headDim, rotaryDim, direction)
                        }
                    }
                }
            }
        }
    }
}
