import RealModule

/// A small, fast, seedable pseudo-random generator (SplitMix64), so that runs are reproducible.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A standard normal sample (Box–Muller).
    public mutating func nextNormal() -> Float {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * .pi * u2))
    }
}

@inline(__always) private func _log(_ x: Double) -> Double { Double.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Double.cos(x) }

extension Tensor {
    /// Normally distributed values with the given mean and standard deviation.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                                    using generator: inout SeededGenerator) -> Tensor {
        Tensor.build(shape: shape) { out in
            for i in 0..<out.count { out[i] = mean + standardDeviation * generator.nextNormal() }
        }
    }

    /// Uniformly distributed values in `range`.
    public static func randomUniform(_ shape: [Int], in range: ClosedRange<Float> = 0...1,
                                     using generator: inout SeededGenerator) -> Tensor {
        Tensor.build(shape: shape) { out in
            for i in 0..<out.count { out[i] = Float.random(in: range, using: &generator) }
        }
    }
}
