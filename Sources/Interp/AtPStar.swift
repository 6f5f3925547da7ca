import Foundation

/// AtP* (Kramár et al. 2024, "AtP*: An efficient and scalable method for localizing LLM behaviour to
/// components", arXiv 2403.00745): attribution patching of nodes, with the two fixes of its section 3.
///
/// A node's effect is `c(n) = m(target | do(n ← n(source))) − m(target)` (noising: target = clean run,
/// source = corrupted run, as in the paper). The estimates, all from true gradients at the target run:
/// - **AtP**: `ĉ_AtP(n) = (n(source) − n(target)) · ∂m/∂n`.
/// - **QK fix** (section 3.1.1): for queries and keys the attention pattern is recomputed exactly with the
///   patched query or key and only its effect is linear, `Σ (A' − A) · ∂m/∂A` (see ``AttentionQKFix``). Values,
///   head outputs and MLPs stay linear as in AtP.
/// - **GradDrop** (section 3.2): `ĉ_GradDrop(n) = Σ_ℓ |ĉ_AtP+GD_ℓ(n)|` over the layers ℓ, where `ĉ_AtP+GD_ℓ` is the
///   estimate (with the QK fix when it is on) from the gradient with the gradient through layer ℓ's contribution
///   to the residual stream (`hook_attn_out` and `hook_mlp_out` of block ℓ) set to zero. Dropping layer ℓ
///   changes only the gradients of nodes upstream of it; as in the paper, `ĉ_AtP+GD_ℓ(n) = ĉ(n)` for nodes in
///   layers ≥ ℓ. A cancellation between a node's direct path and a path through ℓ that hides the node from
///   AtP shows up once ℓ's path is dropped. The score is a magnitude (for ranking), about `L` times an effect.
///
/// Both runs go through one batched forward pass and one backward pass; GradDrop adds a forward and backward
/// pass of the target run and, for each layer ℓ after the first, a backward pass through the blocks before ℓ.
///
/// ```swift
/// let atpStar = AtPStar(model: model, pairs: pairs, metric: metric)
/// let result = try atpStar.attribute(exact: true)     // with exact activation patching of every node
/// print(result.comparisons)
/// ```
public struct AtPStar {
    /// Which estimates and nodes to compute.
    public struct Options: Sendable, Equatable {
        /// Recompute the attention pattern exactly for query and key nodes.
        public var qkFix: Bool
        /// Compute the GradDrop score.
        public var gradDrop: Bool
        /// Add one node per MLP neuron (`mlp.hook_post`) besides the whole MLPs.
        public var neurons: Bool
        /// One node per position (the paper's nodes) instead of one over every position.
        public var byPosition: Bool

        public init(qkFix: Bool = true, gradDrop: Bool = true, neurons: Bool = false, byPosition: Bool = false) {
            self.qkFix = qkFix
            self.gradDrop = gradDrop
            self.neurons = neurons
            self.byPosition = byPosition
        }
    }

    public let model: TransformerModel
    public let pairs: PromptPairs
    public let metric: Metric
    public let direction: PatchDirection
    public let options: Options

    public init(model: TransformerModel, pairs: PromptPairs, metric: Metric, direction: PatchDirection = .noising,
                options: Options = Options()) {
        self.model = model
        self.pairs = pairs
        self.metric = metric
        self.direction = direction
        self.options = options
    }

    var rotary: Bool { model.blocks.contains { $0.attention.rotary != nil } }
    var groupedQuery: Bool { model.blocks.contains { $0.attention.grouping.isGrouped } }

    /// The nodes, layer by layer: head outputs, queries, keys, values, the MLP, its neurons.
    public var nodes: [AttributionNode] {
        let positions: [Int?] = options.byPosition ? Array(0..<pairs.length) : [nil]
        var nodes: [AttributionNode] = []
        for block in model.blocks {
            let a = block.attention, l = block.layer
            let groups: [(AttributionNode.Kind, Int)] = [(.head, a.heads), (.query, a.heads), (.key, a.keyValueHeads), (.value, a.keyValueHeads)]
            for (kind, count) in groups {
                nodes += (0..<count).flatMap { i in positions.map { AttributionNode(kind: kind, layer: l, index: i, position: $0) } }
            }
            guard block.hasMLP else { continue }
            nodes += positions.map { AttributionNode(kind: .mlp, layer: l, position: $0) }
            if options.neurons, let mlp = block.mlp {
                nodes += (0..<mlp.output.inputSize).flatMap { n in positions.map { AttributionNode(kind: .neuron, layer: l, index: n, position: $0) } }
            }
        }
        return nodes
    }

    /// The node estimates; with `exact`, also every node's exact activation-patching effect and the comparison
    /// of each estimate with it (``NodeAttribution/comparisons``, importance threshold `threshold`).
    public func attribute(exact: Bool = false, threshold: Double = 0.1) throws -> NodeAttribution {
        try checkSupported()
        let nodes = self.nodes
        let (target, source) = direction == .denoising ? (pairs.corrupted, pairs.clean) : (pairs.clean, pairs.corrupted)
        var seconds: [String: Double] = [:]
        let both = TokenBatch(tokens: target.tokens + source.tokens, mask: target.mask + source.mask)
        seconds["forward"] = Self.time { _ = model.forward(both, logitPositions: .last) }

        let count = pairs.count, targetRows = 0..<count, sourceRows = count..<(2 * count)
        var targetActivations: [String: Tensor] = [:], sourceActivations: [String: Tensor] = [:]
        var gradients: [String: Tensor] = [:]
        var values: (target: Float, source: Float) = (0, 0)
        seconds["gradients"] = Self.time {
            values = withGradients { tape in
                let hooks = ForwardHooks()
                let watched = WatchedActivations(watchedNames(layers: 0..<model.layerCount), hooks: hooks, tape: tape)
                let logits = model.forward(both, hooks: hooks, logitPositions: .last)
                let value = metric(logits.slice(axis: 0, targetRows))
                for (name, gradient) in watched.gradients(of: value, on: tape) {
                    let activation = watched.activations[name]!.detached
                    targetActivations[name] = activation.slice(axis: 0, targetRows)
                    sourceActivations[name] = activation.slice(axis: 0, sourceRows)
                    gradients[name] = gradient.slice(axis: 0, targetRows)
                }
                return (value.item, metric(logits.detached.slice(axis: 0, sourceRows)).item)
            }
        }
        let estimator = LayerEstimator(model: model, rotary: rotary, target: targetActivations, source: sourceActivations,
                                       mask: AttentionContext(batch: target))
        var atp: [Double] = [], fixed: [Double]? = nil
        seconds["atp"] = Self.time { atp = estimator.estimates(nodes, gradients: gradients, qkFix: false) }
        if options.qkFix {
            seconds["qk_fix"] = Self.time { fixed = estimator.estimates(nodes, gradients: gradients, qkFix: true) }
        }
        var gradDrop: [Double]? = nil
        if options.gradDrop {
            seconds["grad_drop"] = Self.time {
                gradDrop = self.gradDrop(nodes, base: fixed ?? atp, estimator: estimator, target: target)
            }
        }
        let (clean, corrupted) = direction == .denoising ? (values.source, values.target) : (values.target, values.source)
        var exactEffects: [Double]? = nil
        if exact {
            seconds["exact"] = try Self.time { exactEffects = try self.exactEffects(nodes) }
        }
        let names = nodes.map { $0.name(groupedQuery: groupedQuery) }
        let entries = nodes.indices.map { i in
            NodeAttribution.Entry(node: names[i], kind: nodes[i].kind, layer: nodes[i].layer, position: nodes[i].position,
                                  atp: Float(atp[i]), atpQKFix: fixed.map { Float($0[i]) }, gradDrop: gradDrop.map { Float($0[i]) },
                                  exact: exactEffects.map { Float($0[i]) })
        }
        var comparisons: [NodeAttribution.Comparison]? = nil
        if let exactEffects {
            let estimates = [("atp", atp), ("atp_qk_fix", fixed), ("grad_drop", gradDrop)].compactMap { name, values in values.map { (name, $0) } }
            comparisons = estimates.map { name, values in
                NodeAttribution.Comparison(estimator: name, estimates: values, exact: exactEffects, names: names, threshold: threshold)
            }
        }
        return NodeAttribution(metric: metric.name, direction: direction.rawValue, cleanValue: clean, corruptedValue: corrupted,
                               entries: entries, comparisons: comparisons, seconds: seconds)
    }

    /// The hook points (names) whose activations and gradients the estimates of nodes in `layers` read.
    func watchedNames(layers: Range<Int>) -> [String] {
        layers.flatMap { l -> [String] in
            let block = model.blocks[l]
            var points: [HookPoint] = [.z(l), .v(l),
                                       AttributionNode(kind: .query, layer: l).point(rotary: rotary),
                                       AttributionNode(kind: .key, layer: l).point(rotary: rotary)]
            if options.qkFix { points.append(.pattern(l)) }
            if block.hasMLP {
                points.append(.mlpOut(l))
                if options.neurons && block.mlp != nil { points.append(.mlpPost(l)) }
            }
            return points.map(\.name)
        }
    }

    /// `Σ_ℓ |ĉ_AtP+GD_ℓ(n)|`, with `ĉ_AtP+GD_ℓ(n) = base(n)` for nodes in layers ≥ ℓ.
    ///
    /// With block ℓ's writes detached, `resid_post(ℓ) = resid_pre(ℓ) + constants`, so the dropped gradient at
    /// `resid_pre(ℓ)` is the ordinary gradient at `resid_post(ℓ)`; taking it back through the blocks before ℓ
    /// gives the dropped gradient of every upstream node. One forward pass of the target run serves every ℓ:
    /// one full backward pass, then for each ℓ a backward pass through the blocks before it only.
    func gradDrop(_ nodes: [AttributionNode], base: [Double], estimator: LayerEstimator, target: TokenBatch) -> [Double] {
        var scores = nodes.indices.map { Double(nodes[$0].layer + 1) * Swift.abs(base[$0]) }
        let dropped = 1..<Swift.max(1, model.layerCount)
        guard !dropped.isEmpty else { return scores }
        withGradients { tape in
            let hooks = ForwardHooks()
            let residuals = dropped.flatMap { [HookPoint.residPre($0).name, HookPoint.residPost($0).name] }
            let watched = WatchedActivations(watchedNames(layers: 0..<(model.layerCount - 1)) + residuals, hooks: hooks, tape: tape)
            let value = metric(model.forward(target, hooks: hooks, logitPositions: .last))
            let downstream = tape.gradients(of: value, withRespectTo: dropped.map { watched.activations[HookPoint.residPost($0).name]! })
            for (layer, seed) in zip(dropped, downstream) {
                let names = watchedNames(layers: 0..<layer).filter { watched.activations[$0] != nil }
                let gradients = tape.gradients(of: watched.activations[HookPoint.residPre(layer).name]!,
                                               withRespectTo: names.map { watched.activations[$0]! }, seed: seed)
                let upstream = nodes.indices.filter { nodes[$0].layer < layer }
                let estimates = estimator.estimates(upstream.map { nodes[$0] }, gradients: Dictionary(uniqueKeysWithValues: zip(names, gradients)),
                                                    qkFix: options.qkFix)
                for (i, estimate) in zip(upstream, estimates) { scores[i] += Swift.abs(estimate) }
            }
        }
        return scores
    }

    /// The exact activation-patching effect of each node: `m(target | do(n ← n(source))) − m(target)`.
    public func exactEffects(_ nodes: [AttributionNode]) throws -> [Double] {
        let patching = try ActivationPatching(model: model, pairs: pairs, metric: metric, direction: direction)
        let baseline = Double(direction == .denoising ? patching.corruptedValue : patching.cleanValue)
        var effects = [Double](repeating: 0, count: nodes.count)
        let byPoint = Dictionary(grouping: nodes.indices) { nodes[$0].point(rotary: rotary) }
        for (point, indices) in byPoint.sorted(by: { $0.key.name < $1.key.name }) {
            let shape = try patching.sourceCache[point].shape
            let metrics = patching.patchedMetrics(at: point, masks: indices.map { nodes[$0].mask(activationShape: shape) })
            for (i, value) in zip(indices, metrics) { effects[i] = Double(value) - baseline }
        }
        return effects
    }

    /// The QK fix needs the queries and keys as they enter the dot product: a hook after any q/k norm.
    func checkSupported() throws {
        if options.neurons, let block = model.blocks.first(where: { $0.mixture != nil }) {
            throw AtPStarError.unsupported(layer: block.layer,
                                           reason: "has a mixture-of-experts MLP, whose neurons belong to its experts (no per-layer hook_post); its MLP node is attributed without neurons")
        }
        guard options.qkFix else { return }
        for block in model.blocks {
            let a = block.attention
            if a.rotary == nil && (a.queryNorm != nil || a.keyNorm != nil) {
                throw AtPStarError.unsupported(layer: block.layer,
                                               reason: "normalizes queries or keys without a rotary embedding, so no hook point holds the queries and keys the QK fix needs")
            }
        }
    }

    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}

/// A model that AtP* cannot attribute.
public enum AtPStarError: Error, CustomStringConvertible, Equatable {
    case unsupported(layer: Int, reason: String)

    public var description: String {
        switch self {
        case let .unsupported(layer, reason): return "AtP* QK fix: layer \(layer) \(reason)"
        }
    }
}
