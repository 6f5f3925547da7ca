import Foundation

/// Rotary position embedding settings of a Llama-family model, as Hugging Face applies them.
///
/// Pairs are `(i, i + dimension / 2)` of a head vector (Hugging Face's `rotate_half` layout), rotated by
/// `position * inverseFrequencies()[i]`.
public struct RotaryEmbedding: Equatable, Sendable {
    /// How the inverse frequencies are rescaled for long contexts.
    public enum Scaling: Equatable, Sendable {
        /// Unscaled (`rope_type` `default`).
        case none
        /// Every inverse frequency divided by `factor` (`rope_type` `linear`).
        case linear(factor: Double)
        /// Llama 3.1's frequency-dependent scaling (`rope_type` `llama3`).
        case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalMaxPositions: Int)
    }

    /// The base wavelength `rope_theta`.
    public var theta: Double
    /// The number of rotated dimensions of each head (even).
    public var dimension: Int
    /// The long-context rescaling.
    public var scaling: Scaling

    /// Creates rotary settings.
    public init(theta: Double, dimension: Int, scaling: Scaling = .none) {
        precondition(dimension > 0 && dimension % 2 == 0, "rotary dimension must be positive and even, got \(dimension)")
        self.theta = theta
        self.dimension = dimension
        self.scaling = scaling
    }

    /// The `dimension / 2` inverse frequencies `theta^(-2i/dimension)`, rescaled as `scaling` says.
    ///
    /// ```swift
    /// let angles = RotaryEmbedding(theta: 10_000, dimension: 4).inverseFrequencies()   // [1, 0.01]
    /// ```
    public func inverseFrequencies() -> [Float] {
        (0..<(dimension / 2)).map { i in
            let base = 1 / pow(theta, Double(2 * i) / Double(dimension))
            return Float(rescaled(base))
        }
    }

    private func rescaled(_ inverseFrequency: Double) -> Double {
        switch scaling {
        case .none:
            return inverseFrequency
        case .linear(let factor):
            return inverseFrequency / factor
        case .llama3(let factor, let lowFrequencyFactor, let highFrequencyFactor, let originalMaxPositions):
            let context = Double(originalMaxPositions)
            let wavelength = 2 * Double.pi / inverseFrequency
            if wavelength < context / highFrequencyFactor { return inverseFrequency }
            if wavelength > context / lowFrequencyFactor { return inverseFrequency / factor }
            let smooth = (context / wavelength - lowFrequencyFactor) / (highFrequencyFactor - lowFrequencyFactor)
            return (1 - smooth) * inverseFrequency / factor + smooth * inverseFrequency
        }
    }
}
