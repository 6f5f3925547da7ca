import Foundation

/// How ``TransformerModel/random(configuration:seed:initialization:)`` draws weights.
///
/// The defaults are GPT-2's: matrices and embeddings from N(0, 0.02²); the projections that write into the
/// residual stream (attention output and MLP output) with the standard deviation divided by `sqrt(2 nLayers)`;
/// biases 0; norm gains 1.
public struct Initialization: Sendable, Equatable {
    /// The standard deviation of matrices and embeddings.
    public var standardDeviation: Float
    /// Whether residual-writing projections use `standardDeviation / sqrt(2 nLayers)`.
    public var scalesResidualProjections: Bool

    public init(standardDeviation: Float = 0.02, scalesResidualProjections: Bool = true) {
        self.standardDeviation = standardDeviation
        self.scalesResidualProjections = scalesResidualProjections
    }
}

extension TransformerModel {
    /// A model of any configuration with freshly drawn weights, reproducible from `seed`.
    ///
    /// Each tensor is drawn from its own generator, seeded by `seed` and the tensor's Hugging Face name, so a
    /// tensor's values do not depend on the order of construction.
    ///
    /// ```swift
    /// let model = try TransformerModel.random(configuration: configuration, seed: 42)
    /// ```
    ///
    /// - Throws: ``LoadingError`` when the configuration is inconsistent (a Llama-family model without rotary positions).
    public static func random(configuration: ModelConfiguration, seed: UInt64,
                              initialization: Initialization = Initialization()) throws -> TransformerModel {
        try build(configuration, weights: RandomWeights(seed: seed, initialization: initialization, layerCount: configuration.nLayers))
    }
}

/// A ``WeightSource`` that draws every tensor it is asked for.
struct RandomWeights: WeightSource {
    let seed: UInt64
    let initialization: Initialization
    let layerCount: Int

    func has(_ name: String) -> Bool { true }

    func tensor(named name: String, shape: [Int]) throws -> Tensor {
        if shape.count == 1 { return name.hasSuffix(".bias") ? .zeros(shape) : .ones(shape) }
        var generator = SeededGenerator(seed: seed ^ Self.stableHash(name))
        var deviation = initialization.standardDeviation
        if initialization.scalesResidualProjections && Self.writesResidual(name) {
            deviation /= (2 * Float(layerCount)).squareRoot()
        }
        return .randomNormal(shape, standardDeviation: deviation, using: &generator)
    }

    func weightMatrix(module: String, shape: [Int], quantization: MLXQuantization?) throws -> WeightMatrix {
        .dense(try tensor(named: "\(module).weight", shape: shape))
    }

    /// Attention and MLP output projections of GPT-2 (`c_proj`) and the Llama family (`o_proj`, `down_proj`).
    static func writesResidual(_ name: String) -> Bool {
        ["c_proj.weight", "o_proj.weight", "down_proj.weight"].contains { name.hasSuffix($0) }
    }

    /// FNV-1a of the UTF-8 bytes: unlike `Hasher`, the same in every process.
    static func stableHash(_ text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }
}
