/// One run of a model, reading and writing in one place (in the spirit of nnsight's `trace`): interventions
/// (as data) and hook functions (closures) change activations, a cache filter records them, and a gradient
/// request watches hook points on a gradient tape. `runWithCache`, `runWithHooks` and `run(_:interventions:)`
/// are this call with some parts left out.
///
/// ```swift
/// let trace = try model.trace(batch, cache: .kinds([.pattern, .residPost]),
///                             interventions: [Intervention(at: .z(1), heads: [4], .zero)],
///                             gradients: GradientRequest(of: metric, at: [.residPre(2)]), logitPositions: .last)
/// let pattern = try trace.activations[.pattern(0)]
/// let gradient = trace.gradients[HookPoint.residPre(2).name]
/// ```
public struct Trace {
    /// The logits at the requested positions (the final residual stream with ``TransformerModel/LogitPositions/none``).
    public let logits: Tensor
    /// The activations the cache filter selected, after every intervention and hook ran.
    public let activations: ActivationCache
    /// The gradients of the requested value with respect to the requested hook points, by canonical name
    /// (empty without a gradient request).
    public let gradients: [String: Tensor]

    /// The residual stream accessor over this run.
    public var residualStream: ResidualStream { ResidualStream(activations) }
}

/// Gradients to take in a traced run: of a scalar function of the logits, with respect to hook points.
public struct GradientRequest {
    /// The hook points (any spelling ``HookNameResolver`` accepts).
    public let points: [String]
    /// The differentiable scalar of the run's logits.
    public let value: (_ logits: Tensor) -> Tensor

    public init(of value: @escaping (_ logits: Tensor) -> Tensor, at points: [String]) {
        self.value = value
        self.points = points
    }

    /// The gradients of a metric at hook points of the registry. A metric reads one row of logits per example:
    /// trace with `logitPositions: .last`.
    public init(of metric: Metric, at points: [HookPoint]) {
        self.init(of: { metric($0) }, at: points.map(\.name))
    }
}

extension TransformerModel {
    /// Runs `batch` once with interventions, hooks, a cache and, if asked, gradients (see ``Trace``).
    ///
    /// Interventions run first, then the hooks in the order given; the cache records what they leave; the
    /// gradients are taken with respect to the activations they leave. Memory is proportional to what is
    /// recorded; past `byteLimit` bytes the run throws ``ActivationCacheError/overBudget(firstRefused:bytesNeeded:limit:)``.
    public func trace(_ batch: TokenBatch, cache filter: ActivationFilter? = .standard, interventions: [Intervention] = [],
                      hooks functions: [(String, HookFunction)] = [], gradients request: GradientRequest? = nil,
                      logitPositions: LogitPositions = .all,
                      byteLimit: Int? = ActivationCache.defaultByteLimit) throws -> Trace {
        try trace(batch, saes: [], cache: filter, interventions: interventions, hooks: functions, gradients: request,
                  logitPositions: logitPositions, byteLimit: byteLimit)
    }

    /// Runs `batch` once with sparse autoencoders spliced in at their hooks (see ``SparseAutoencoder``), then
    /// interventions, hooks, a cache and gradients as ``trace(_:cache:interventions:hooks:gradients:logitPositions:byteLimit:)``.
    ///
    /// Each SAE replaces the activation at its hook by its output (plus its error term when it keeps one) before
    /// anything else runs there, and exposes its own activations (`<hook>.hook_sae_acts_post`, ...) to the
    /// interventions, hooks, cache filter and gradient request by name.
    public func trace(_ batch: TokenBatch, saes: [SparseAutoencoder], cache filter: ActivationFilter? = .standard,
                      interventions: [Intervention] = [], hooks functions: [(String, HookFunction)] = [],
                      gradients request: GradientRequest? = nil, logitPositions: LogitPositions = .all,
                      byteLimit: Int? = ActivationCache.defaultByteLimit) throws -> Trace {
        let hooks = ForwardHooks()
        let splice = try SAESplice(saes, model: self, hooks: hooks)
        let resolver = splice.resolver
        try register(interventions, on: hooks, resolver: resolver)
        for (name, function) in functions { hooks.add(try resolver.resolve(name), function) }
        if let filter {
            hooks.cache(where: try filter.predicate(for: self, resolver: resolver))
            hooks.cacheByteLimit = byteLimit
        }
        var logits = Tensor.zeros([0]), gradients: [String: Tensor] = [:]
        if let request {
            let points = try request.points.map { try resolver.resolve($0) }
            (logits, gradients) = withGradients { tape in
                let watched = WatchedActivations(points, hooks: hooks, tape: tape)
                let logits = forward(batch, hooks: hooks, logitPositions: logitPositions)
                return (logits.detached, watched.gradients(of: request.value(logits), on: tape))
            }
        } else {
            logits = forward(batch, hooks: hooks, logitPositions: logitPositions)
        }
        if let failure = splice.failure { throw failure }
        if let overflow = hooks.cacheOverflow, let byteLimit {
            throw ActivationCacheError.overBudget(firstRefused: overflow.name, bytesNeeded: overflow.bytesNeeded, limit: byteLimit)
        }
        return Trace(logits: logits, activations: ActivationCache(activations: hooks.cached.mapValues(\.detached), model: self, resolver: resolver),
                     gradients: gradients)
    }
}

extension LanguageModel {
    /// Traces a prompt (the seed's `with model.trace(text) as trace`): tokenized, then ``TransformerModel/trace(_:cache:interventions:hooks:gradients:logitPositions:byteLimit:)``.
    public func trace(_ text: String, cache filter: ActivationFilter? = .standard, interventions: [Intervention] = [],
                      hooks: [(String, HookFunction)] = [], gradients: GradientRequest? = nil,
                      logitPositions: TransformerModel.LogitPositions = .all) throws -> Trace {
        try model.trace(TokenBatch([try tokens(text)]), cache: filter, interventions: interventions, hooks: hooks,
                        gradients: gradients, logitPositions: logitPositions)
    }
}
