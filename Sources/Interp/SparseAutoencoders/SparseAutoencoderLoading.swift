import Foundation

extension SparseAutoencoder {
    /// The files of a SAELens SAE directory (`SAE.save_model`).
    public static let configFileName = "cfg.json", weightsFileName = "sae_weights.safetensors"

    /// Loads a SAELens SAE directory: `cfg.json` (``SAELensConfigFile``) and `sae_weights.safetensors`.
    ///
    /// With a model, the hook is resolved to its canonical name (any spelling ``HookNameResolver`` accepts) and
    /// `d_in` is checked against the activation's width there (from a one-token forward pass). Every error names
    /// the file and the field or tensor: a missing or misshapen tensor, a tensor the architecture does not have,
    /// an unknown hook, a width that does not match, an option this library does not implement.
    public init(contentsOf directory: URL, model: TransformerModel? = nil, usesErrorTerm: Bool = false) throws {
        let configURL = directory.appendingPathComponent(Self.configFileName)
        let data: Data
        do { data = try Data(contentsOf: configURL) } catch {
            throw LoadingError("\(configURL.path): cannot read: \(error.localizedDescription)")
        }
        let file: SAELensConfigFile
        do { file = try JSONDecoder().decode(SAELensConfigFile.self, from: data) } catch let error as DecodingError {
            throw LoadingError("\(configURL.path): \(error.fieldDescription)")
        }
        var configuration = try file.configuration(source: configURL.path)
        if let model { configuration.hookName = try Self.resolveHook(configuration, model: model, source: configURL.path) }
        let weights = try SafetensorsFile(contentsOf: directory.appendingPathComponent(Self.weightsFileName))
        let tensors = Dictionary(uniqueKeysWithValues: try weights.tensorNames.map { ($0, try weights.tensor(named: $0)) })
        try self.init(configuration: configuration, tensors: tensors, source: weights.url.path, usesErrorTerm: usesErrorTerm)
    }

    /// Loads a Gemma Scope SAE (`params.npz` as published: `W_enc [d_in, d_sae]`, `W_dec`, `b_enc`, `b_dec`, `threshold`):
    /// a JumpReLU SAE of the activation itself (`x · W_enc + b_enc`, no decoder bias subtracted, as Gemma Scope's own
    /// code and SAELens' converter read it) at `hook`, which the file does not record; Gemma Scope's folders name it:
    /// `layer_12/…` of `gemma-scope-2b-pt-res` is `blocks.12.hook_resid_post`, of `-mlp` `blocks.12.hook_mlp_out`, of
    /// `-att` `blocks.12.attn.hook_z` (the heads concatenated).
    ///
    /// ```swift
    /// let sae = try SparseAutoencoder(gemmaScope: URL(fileURLWithPath: "layer_12/width_16k/average_l0_82/params.npz"),
    ///                                 hook: "blocks.12.hook_resid_post", model: model)
    /// ```
    public init(gemmaScope url: URL, hook: String, model: TransformerModel? = nil, usesErrorTerm: Bool = false) throws {
        let tensors = try NumpyArchive(contentsOf: url).arrays
        guard let encoder = tensors["W_enc"], encoder.shape.count == 2 else {
            throw LoadingError("\(url.path): no 2-dimensional array 'W_enc' (a Gemma Scope SAE has W_enc, W_dec, b_enc, b_dec, threshold)")
        }
        let hookName = model.flatMap { try? $0.hookNameResolver.resolve(hook) } ?? hook
        var configuration = Configuration(
            architecture: .jumpReLU, k: nil, dIn: encoder.shape[0], dSAE: encoder.shape[1], hookName: hookName,
            hookField: "hook", appliesDecoderBiasToInput: false, normalization: .none,
            flattensHeads: hookName.hasSuffix("hook_z"), rescalesByDecoderNorm: false)
        if let model { configuration.hookName = try Self.resolveHook(configuration, model: model, source: url.path) }
        try self.init(configuration: configuration, tensors: tensors, source: url.path, usesErrorTerm: usesErrorTerm)
    }

    /// An SAE from a validated configuration and its weights (`source` names their file in errors).
    init(configuration: Configuration, tensors: [String: Tensor], source path: String, usesErrorTerm: Bool) throws {
        let (dIn, dSAE) = (configuration.dIn, configuration.dSAE)
        var expected = ["W_enc": [dIn, dSAE], "W_dec": [dSAE, dIn], "b_dec": [dIn]]
        switch configuration.architecture {
        case .standard, .topK: expected["b_enc"] = [dSAE]
        case .jumpReLU: expected["b_enc"] = [dSAE]; expected["threshold"] = [dSAE]
        case .gated: for name in ["b_gate", "r_mag", "b_mag"] { expected[name] = [dSAE] }
        }
        for name in tensors.keys.sorted() where expected[name] == nil {
            if name == "scaling_factor", tensors[name]!.scalars.allSatisfy({ $0 == 1 }) { continue }
            throw LoadingError("\(path): tensor '\(name)' is not part of a \(configuration.architecture.rawValue) SAE"
                + " (expected: \(expected.keys.sorted().joined(separator: ", ")))")
        }
        func read(_ name: String) throws -> Tensor {
            guard let tensor = tensors[name] else {
                throw LoadingError("\(path): no tensor named '\(name)' (a \(configuration.architecture.rawValue) SAE has \(expected.keys.sorted().joined(separator: ", ")))")
            }
            guard tensor.shape == expected[name]! else {
                throw LoadingError("\(path): tensor '\(name)': expected shape \(expected[name]!) (d_in \(dIn), d_sae \(dSAE)), found \(tensor.shape)")
            }
            return tensor
        }
        self.configuration = configuration
        self.usesErrorTerm = usesErrorTerm
        encoderWeight = try read("W_enc")
        decoderWeight = try read("W_dec")
        decoderBias = try read("b_dec")
        threshold = configuration.architecture == .jumpReLU ? try read("threshold") : nil
        if configuration.architecture == .gated {
            encoderBias = try read("b_gate")
            let scale = try read("r_mag").exp()
            magnitudeWeight = encoderWeight * scale
            magnitudeBias = try read("b_mag")
        } else {
            encoderBias = try read("b_enc")
            magnitudeWeight = nil
            magnitudeBias = nil
        }
        decoderNorms = configuration.rescalesByDecoderNorm ? decoderWeight.squared().sum(axis: 1).sqrt() : nil
    }

    /// The canonical name of the configuration's hook in `model`, checked to carry `d_in` values per position.
    static func resolveHook(_ configuration: Configuration, model: TransformerModel, source: String) throws -> String {
        let field = "\(source): \(configuration.hookField) '\(configuration.hookName)'"
        let name: String
        do { name = try model.hookNameResolver.resolve(configuration.hookName) } catch {
            throw LoadingError("\(field) is not a hook point of this model: \(error)")
        }
        let trace = try model.trace(TokenBatch([[0]]), cache: .names([name]), logitPositions: .none)
        let shape = try trace.activations[name].shape
        if let problem = configuration.widthProblem(activationShape: shape) { throw LoadingError("\(field): \(problem)") }
        return name
    }
}

extension SparseAutoencoder.Configuration {
    /// Why an activation of `shape` (`[batch, pos, ...]`) cannot be encoded, or nil when it can.
    func widthProblem(activationShape shape: [Int]) -> String? {
        if flattensHeads {
            guard hookName.hasSuffix("hook_z"), shape.count == 4 else {
                return "reshape_activations 'hook_z' needs a [batch, pos, heads, d_head] activation (attn.hook_z), found rank \(shape.count)"
            }
            let width = shape[2] * shape[3]
            return width == dIn ? nil : "d_in \(dIn) does not match the activation's heads × d_head = \(shape[2]) × \(shape[3]) = \(width)"
        }
        guard shape.count == 3 else {
            return "the activation has shape [\(shape.map(String.init).joined(separator: ", "))]; an SAE reads [batch, pos, d_in] "
                + "(per-head activations need reshape_activations 'hook_z')"
        }
        return shape[2] == dIn ? nil : "d_in \(dIn) does not match the activation's width \(shape[2])"
    }
}
