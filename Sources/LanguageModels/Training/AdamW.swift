/// The AdamW optimizer (Loshchilov & Hutter), with bias correction and decoupled weight decay, as
/// `torch.optim.AdamW` computes it. For step `t = 1, 2, ...` and each parameter `p` with gradient `g`:
///
/// ```text
/// m = β₁ m + (1 - β₁) g            v = β₂ v + (1 - β₂) g²
/// p = p (1 - lr λ)                  (only parameters that decay)
/// p = p - lr (m / (1 - β₁ᵗ)) / (sqrt(v / (1 - β₂ᵗ)) + ε)
/// ```
///
/// ```swift
/// var optimizer = AdamW(shapes: parameters.map(\.shape), decays: AdamW.decays(for: parameters.map(\.shape)))
/// optimizer.update(&parameters, gradients: gradients, learningRate: 1e-3)
/// ```
public struct AdamW {
    /// The hyperparameters other than the learning rate.
    public struct Options: Codable, Equatable, Sendable {
        public var beta1: Float
        public var beta2: Float
        public var epsilon: Float
        /// λ, applied to the parameters marked as decaying.
        public var weightDecay: Float

        public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
            self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.weightDecay = weightDecay
        }
    }

    public let options: Options
    /// Per parameter, whether weight decay applies.
    public let decays: [Bool]

    /// The usual rule, as in GPT-2 and nanoGPT: matrices (weights and embeddings) decay; vectors (biases
    /// and norm gains) do not.
    public static func decays(for shapes: [[Int]]) -> [Bool] { shapes.map { $0.count >= 2 } }
    /// The number of updates done so far.
    public private(set) var step: Int
    /// The moving averages of the gradients (`exp_avg`), one per parameter.
    public private(set) var firstMoments: [Tensor]
    /// The moving averages of the squared gradients (`exp_avg_sq`), one per parameter.
    public private(set) var secondMoments: [Tensor]

    /// A fresh optimizer (zero moments) for parameters of the given shapes.
    public init(shapes: [[Int]], decays: [Bool], options: Options = Options()) {
        precondition(shapes.count == decays.count, "AdamW: \(shapes.count) shapes but \(decays.count) decay flags")
        self.init(step: 0, firstMoments: shapes.map(Tensor.zeros), secondMoments: shapes.map(Tensor.zeros),
                  decays: decays, options: options)
    }

    /// An optimizer resumed from saved state.
    public init(step: Int, firstMoments: [Tensor], secondMoments: [Tensor], decays: [Bool], options: Options = Options()) {
        precondition(firstMoments.count == decays.count && secondMoments.count == decays.count,
                     "AdamW: moments and decay flags differ in count")
        precondition(zip(firstMoments, secondMoments).allSatisfy { $0.shape == $1.shape }, "AdamW: moment shapes differ")
        self.step = step
        self.firstMoments = firstMoments.map(\.detached)
        self.secondMoments = secondMoments.map(\.detached)
        self.decays = decays
        self.options = options
    }

    /// Applies one update to `parameters` given their `gradients`.
    public mutating func update(_ parameters: inout [Tensor], gradients: [Tensor], learningRate: Float) {
        precondition(parameters.count == decays.count && gradients.count == decays.count,
                     "AdamW: \(decays.count) parameters expected, got \(parameters.count) and \(gradients.count) gradients")
        step += 1
        let (beta1, beta2, epsilon) = (options.beta1, options.beta2, options.epsilon)
        let stepSize = learningRate / (1 - Float.pow(beta1, Float(step)))
        let secondCorrection = (1 - Float.pow(beta2, Float(step))).squareRoot()
        for i in parameters.indices {
            precondition(parameters[i].shape == firstMoments[i].shape && gradients[i].shape == firstMoments[i].shape,
                         "AdamW: parameter \(i) is \(parameters[i].shape), gradient \(gradients[i].shape), state \(firstMoments[i].shape)")
            let shrink: Float = decays[i] ? 1 - learningRate * options.weightDecay : 1
            var p = parameters[i].scalars, m = firstMoments[i].scalars, v = secondMoments[i].scalars
            let g = gradients[i].scalars
            for j in p.indices {
                m[j] = beta1 * m[j] + (1 - beta1) * g[j]
                v[j] = beta2 * v[j] + (1 - beta2) * g[j] * g[j]
                p[j] = p[j] * shrink - stepSize * m[j] / (v[j].squareRoot() / secondCorrection + epsilon)
            }
            let shape = parameters[i].shape
            parameters[i] = Tensor(shape: shape, scalars: p)
            firstMoments[i] = Tensor(shape: shape, scalars: m)
            secondMoments[i] = Tensor(shape: shape, scalars: v)
        }
    }
}
