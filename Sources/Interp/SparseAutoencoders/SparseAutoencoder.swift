/// A sparse autoencoder of one activation, as SAELens defines it: `encode` maps an activation `[..., dIn]` to feature
/// activations `[..., dSAE]`, `decode` maps them back.
///
/// The standard, JumpReLU, top-k and gated architectures compute exactly SAELens 6's `encode` and `decode`
/// (`sae_in = x − b_dec` when ``Configuration/appliesDecoderBiasToInput``; `W_enc [dIn, dSAE]`, `W_dec [dSAE, dIn]`).
/// Every operation is differentiable on the gradient tape (the JumpReLU, top-k and gate selections are constant
/// masks, as in torch).
///
/// ```swift
/// let sae = try SparseAutoencoder(contentsOf: URL(fileURLWithPath: "saes/blocks.3.hook_resid_pre"), model: model)
/// let features = sae.encode(residual)                       // [batch, pos, dSAE]
/// let reconstruction = sae.decode(features, input: residual)
/// let trace = try model.trace(batch, saes: [sae], cache: .names([sae.hookName(.featureActivations)]))
/// ```
public struct SparseAutoencoder {
    /// The encoder's activation.
    public enum Architecture: String, CaseIterable, Sendable {
        /// `relu(sae_in · W_enc + b_enc)`.
        case standard
        /// `relu(pre) · [pre > threshold]`, `pre = sae_in · W_enc + b_enc`.
        case jumpReLU = "jumprelu"
        /// The `k` largest of `pre` (ties: lower index), ReLU'd; the rest zero.
        case topK = "topk"
        /// `[sae_in · W_enc + b_gate > 0] · relu(sae_in · (W_enc ⊙ exp(r_mag)) + b_mag)`.
        case gated
    }

    /// How the input is normalized before encoding and the reconstruction restored after decoding, per row.
    public enum InputNormalization: String, CaseIterable, Sendable {
        case none
        /// `x · √dIn / ‖x‖`, undone by dividing by the same factor.
        case constantNormRescale = "constant_norm_rescale"
        /// `(x − mean) / (std + 1e-5)` (unbiased std), undone by `· std + mean`.
        case layerNorm = "layer_norm"
    }

    /// The validated `cfg.json`.
    public struct Configuration: Equatable, Sendable {
        public var architecture: Architecture
        /// The number of features kept by ``Architecture/topK``; nil for the others.
        public var k: Int?
        public var dIn: Int
        public var dSAE: Int
        /// The hook point as the file names it (canonical once loaded for a model).
        public var hookName: String
        /// The `cfg.json` field the hook came from (`metadata.hook_name`, or a pre-6 `hook_name` / `hook_point`), for errors.
        public var hookField: String
        public var appliesDecoderBiasToInput: Bool
        public var normalization: InputNormalization
        /// `reshape_activations: hook_z`: the `[..., heads, dHead]` activation is encoded as `[..., heads · dHead]`.
        public var flattensHeads: Bool
        /// Top-k's `rescale_acts_by_decoder_norm`: pre-activations scaled by `‖W_dec[f]‖` and features divided by it.
        public var rescalesByDecoderNorm: Bool
    }

    /// The activations an SAE spliced into a forward pass exposes, named `<hook>.<suffix>` as in SAELens'
    /// `HookedSAETransformer` (e.g. `blocks.3.hook_resid_pre.hook_sae_acts_post`).
    public enum Activation: String, CaseIterable, Sendable {
        /// The activation as it reaches the SAE `[..., dIn]` (heads flattened).
        case input = "hook_sae_input"
        /// The encoder's pre-activations `[..., dSAE]` (gated: the magnitude path's).
        case preActivations = "hook_sae_acts_pre"
        /// The feature activations `[..., dSAE]`.
        case featureActivations = "hook_sae_acts_post"
        /// The reconstruction before the input normalization is undone `[..., dIn]`.
        case reconstruction = "hook_sae_recons"
        /// The error term `x − x̂` of the unmodified SAE `[..., dIn]` (only when the error term is kept).
        case error = "hook_sae_error"
        /// What the SAE hands on: the reconstruction, plus the error term when kept `[..., dIn]`.
        case output = "hook_sae_output"
    }

    public internal(set) var configuration: Configuration
    /// `W_enc [dIn, dSAE]`.
    public let encoderWeight: Tensor
    /// `b_enc [dSAE]` (gated: `b_gate`).
    public let encoderBias: Tensor
    /// `W_dec [dSAE, dIn]`.
    public let decoderWeight: Tensor
    /// `b_dec [dIn]`.
    public let decoderBias: Tensor
    /// JumpReLU's `threshold [dSAE]`.
    public let threshold: Tensor?
    /// Gated: `W_enc ⊙ exp(r_mag)` and `b_mag`.
    let magnitudeWeight: Tensor?, magnitudeBias: Tensor?
    /// Top-k with ``Configuration/rescalesByDecoderNorm``: `‖W_dec[f]‖ [dSAE]`.
    let decoderNorms: Tensor?
    /// When true a spliced forward pass adds the error term, so that the model's output is unchanged.
    public var usesErrorTerm: Bool

    /// The hook point the SAE reads and replaces.
    public var hookName: String { configuration.hookName }

    /// The name of one of the SAE's activations in a spliced forward pass: `<hook>.<suffix>`.
    public func hookName(_ activation: Activation) -> String { "\(hookName).\(activation.rawValue)" }

    /// Every name of ``hookName(_:)``.
    public var activationNames: [String] { Activation.allCases.map(hookName) }

    /// The feature activations of `x [..., dIn]`: `[..., dSAE]`.
    public func encode(_ x: Tensor) -> Tensor {
        let input = prepared(normalized(x).value)
        return activate(preActivations(input), input: input)
    }

    /// The reconstruction of feature activations `[..., dSAE]`: `[..., dIn]`. With a normalizing SAE, `input` (the
    /// activation that was encoded) gives the scale to restore; without it the reconstruction stays normalized.
    public func decode(_ features: Tensor, input: Tensor? = nil) -> Tensor {
        let reconstruction = linearDecode(features)
        guard let input else { return reconstruction }
        return normalized(input).restore(reconstruction)
    }

    /// `x − b_dec` (when the decoder bias is applied to the input) of the normalized input.
    func prepared(_ normalized: Tensor) -> Tensor {
        configuration.appliesDecoderBiasToInput ? normalized - decoderBias : normalized
    }

    /// The encoder's pre-activations of a prepared input (gated: the magnitude path's; top-k: rescaled if asked).
    func preActivations(_ input: Tensor) -> Tensor {
        if let magnitudeWeight, let magnitudeBias { return Self.affine(input, magnitudeWeight, magnitudeBias) }
        let pre = Self.affine(input, encoderWeight, encoderBias)
        return decoderNorms.map { pre * $0 } ?? pre
    }

    /// The feature activations from pre-activations (and, for the gate, the prepared input).
    func activate(_ pre: Tensor, input: Tensor) -> Tensor {
        let rectified = pre.relu()
        switch configuration.architecture {
        case .standard: return rectified
        case .jumpReLU:
            let threshold = threshold!.scalars, width = configuration.dSAE
            return rectified * Self.mask(pre.detached.scalars.enumerated().map { $0.element > threshold[$0.offset % width] }, shape: pre.shape)
        case .topK:
            let k = configuration.k!, width = configuration.dSAE
            var keep = [Bool](repeating: false, count: pre.count)
            for (row, indices) in pre.detached.topK(k).indices.enumerated() { for i in indices { keep[row * width + i] = true } }
            return rectified * Self.mask(keep, shape: pre.shape)
        case .gated:
            let gate = Self.affine(input.detached, encoderWeight, encoderBias)
            return rectified * Self.mask(gate.scalars.map { $0 > 0 }, shape: pre.shape)
        }
    }

    /// `features · W_dec + b_dec` (top-k rescaled: features divided by the decoder norms first).
    func linearDecode(_ features: Tensor) -> Tensor {
        Self.affine(decoderNorms.map { features / $0 } ?? features, decoderWeight, decoderBias)
    }

    /// `x · W + b` over the last axis of `x`.
    static func affine(_ x: Tensor, _ weight: Tensor, _ bias: Tensor) -> Tensor {
        let rows = x.reshaped([-1, weight.shape[0]])
        return rows.matmul(weight, bias: bias).reshaped(Array(x.shape.dropLast()) + [weight.shape[1]])
    }

    /// A constant 0/1 tensor.
    static func mask(_ keep: [Bool], shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: keep.map { $0 ? 1 : 0 })
    }
}
