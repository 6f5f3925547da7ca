/// Sparse autoencoders spliced into one forward pass: each replaces the activation at its hook by its output,
/// and calls the hooks registered at its own activations (``SparseAutoencoder/Activation``) as it computes them,
/// so interventions, hook functions, the cache and gradient requests reach them by name.
///
/// Used by ``TransformerModel/trace(_:saes:cache:interventions:hooks:gradients:logitPositions:byteLimit:)``.
final class SAESplice {
    /// The model's hook names plus every spliced SAE's activations.
    let resolver: HookNameResolver
    /// The first SAE that met an activation it cannot encode (the activation was left unchanged).
    private(set) var failure: LoadingError?

    init(_ saes: [SparseAutoencoder], model: TransformerModel, hooks: ForwardHooks) throws {
        let modelResolver = model.hookNameResolver
        var spliced: [String: SparseAutoencoder] = [:]
        for var sae in saes {
            let name = try modelResolver.resolve(sae.hookName)
            guard spliced[name] == nil else {
                throw SparseAutoencoderError.duplicateHook(name)
            }
            sae.configuration.hookName = name
            spliced[name] = sae
        }
        resolver = saes.isEmpty ? modelResolver : modelResolver.adding(spliced.values.flatMap(\.activationNames))
        for (name, sae) in spliced {
            hooks.add(name) { [unowned self, unowned hooks] activation, _ in
                if let problem = sae.configuration.widthProblem(activationShape: activation.shape) {
                    if failure == nil { failure = LoadingError("SAE at '\(name)': \(problem)") }
                    return activation
                }
                guard sae.configuration.flattensHeads else { return sae.output(activation, hooks: hooks) }
                let shape = activation.shape
                return sae.output(activation.reshaped([shape[0], shape[1], shape[2] * shape[3]]), hooks: hooks).reshaped(shape)
            }
        }
    }
}

extension SparseAutoencoder {
    /// What the SAE hands on for `x [..., dIn]`, calling `hooks` at each of its activations (SAELens' `forward`).
    ///
    /// The error term is that of the SAE without hooks, `x − decode(encode(x))`, kept on the gradient tape (not
    /// detached, as in Marks et al. 2024): with it the output equals `x`, gradients at the features and at the
    /// error are those of the true model, and gradients flow on to earlier activations unchanged.
    public func output(_ x: Tensor, hooks: ForwardHooks? = nil) -> Tensor {
        let apply = { (activation: Activation, value: Tensor) in hooks.map { $0.apply(self.hookName(activation), value) } ?? value }
        let input = apply(.input, x)
        let normalized = normalized(input)
        let prepared = prepared(normalized.value)
        let pre = apply(.preActivations, preActivations(prepared))
        let features = apply(.featureActivations, activate(pre, input: prepared))
        let reconstruction = normalized.restore(apply(.reconstruction, linearDecode(features)))
        guard usesErrorTerm else { return apply(.output, reconstruction) }
        let hooked = hooks.map { hooks in
            [Activation.input, .preActivations, .featureActivations, .reconstruction].contains { hooks.wants(hookName($0)) }
        } ?? false
        let unhooked = hooked ? decode(encode(x), input: x) : reconstruction
        return apply(.output, reconstruction + apply(.error, x - unhooked))
    }
}
