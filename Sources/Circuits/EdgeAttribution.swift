/// A score for every edge of a ``ComputationGraph``.
public struct EdgeScores {
    public let graph: ComputationGraph
    /// One score per edge, in the order of `graph.edges`.
    public let values: [Float]
    /// `eap`, `eap-ig`, `acdc`, ...
    public let method: String

    /// The score of one edge.
    public subscript(edge: ComputationGraph.Edge) -> Float {
        values[graph.edgeIndex(of: edge)]
    }

    /// Edges ordered by |score|, largest first (ties in graph order).
    public var ranked: [(edge: ComputationGraph.Edge, score: Float)] {
        values.indices.sorted { Swift.abs(values[$0]) > Swift.abs(values[$1]) || (Swift.abs(values[$0]) == Swift.abs(values[$1]) && $0 < $1) }
            .map { (graph.edges[$0], values[$0]) }
    }
}

extension EdgePatching {
    /// Edge attribution patching (Syed et al. 2023) and, with `integratedGradientSteps`, EAP-IG (Hanna et al. 2024).
    ///
    /// `score(u → v) = Σ_positions (out_u(source) − out_u(clean)) · ∂m/∂in_v`, with the gradient taken on the
    /// clean run (EAP) or averaged over runs whose input embeddings are interpolated from the corrupted to
    /// the clean ones, `α = k / steps` for `k = 0 ..< steps` (EAP-IG). The metric averages over examples, so
    /// scores are averaged over examples. Two forward passes and one backward pass score every edge (EAP-IG:
    /// one forward and backward pass per step). The same as ``edgeAttribution(_:progress:)`` with
    /// ``EdgeAttributionMethod/eap`` or ``EdgeAttributionMethod/eapIGInputs(steps:)``.
    ///
    /// In a position-aware graph (``PositionBuckets``) the sum runs over each bucket's token positions only, so
    /// an edge's bucket scores add up to its plain score.
    ///
    /// With the KL metric the clean-run gradient is zero (KL is minimal there): use a task metric such as the
    /// logit difference for EAP, or EAP-IG.
    public func edgeAttribution(integratedGradientSteps steps: Int? = nil) -> EdgeScores {
        let method = steps.map { EdgeAttributionMethod.eapIGInputs(steps: $0) } ?? .eap
        return edgeScores(gradientScoreMatrix(method.gradientRuns(graph, nodeLevel: false)!).scores, method: method.name)
    }

    /// One score per edge, in the order of `graph.edges`, from a `[senders, receivers]` score matrix.
    func edgeScores(_ matrix: [Float], method: String) -> EdgeScores {
        var values: [Float] = []
        values.reserveCapacity(graph.edges.count)
        let receiverCount = graph.receivers.count, positions = graph.positionCount
        for r in graph.receivers.indices {
            for s in 0..<graph.upstreamCount(of: r) {
                for p in 0..<positions { values.append(matrix[(s * receiverCount + r) * positions + p]) }
            }
        }
        return EdgeScores(graph: graph, values: values, method: method)
    }

    /// The `[senders, receivers]` matrix `Σ (source − clean output of s) · ∂m/∂(input of r)` with the gradient
    /// averaged over `runs`, and the averaged gradients at the `watching` hook points.
    func gradientScoreMatrix(_ runs: [GradientRun], watching extra: [HookPoint] = [], progress: ProgressReporter = .silent,
                             step: String = "attribution") -> (scores: [Float], watched: [HookPoint: Tensor]) {
        var gradients: [HookPoint: Tensor] = [:]
        for (i, run) in runs.enumerated() {
            for (name, g) in receiverGradients(run, watching: extra) {
                gradients[name] = gradients[name].map { $0 + g } ?? g
            }
            progress.report(step, done: i + 1, total: runs.count, unit: "passes")
        }
        let scale = 1 / Float(runs.count)
        return (scoreMatrix(gradients, scale: scale),
                Dictionary(uniqueKeysWithValues: extra.map { ($0, gradients[$0]! * scale) }))
    }

    /// ∂m/∂(input of every receiver) in one run (the clean prompts, the corrupted ones, or the clean ones with a
    /// sender group's output replaced), keyed by the receiver's hook point: per-head
    /// `hook_q_input`/`hook_k_input`/`hook_v_input` laid out head-major, `[heads, B, P, d]`; `hook_mlp_in` and the
    /// final `hook_resid_post`, `[B, P, d]`; and ∂m/∂(activation) at the `watching` points.
    ///
    /// One plain forward and backward pass (no per-head copies of the residual stream) gives the gradients at
    /// each block's ``TransformerBlock/attentionGradientPoints`` and at the MLP and logits inputs; each block
    /// then takes its own gradients back to its heads' inputs
    /// (``TransformerBlock/attentionInputGradients(at:projectionGradients:)``), which is what the split forward
    /// pass would have computed. A replaced output is a constant: no gradient flows back through it.
    func receiverGradients(_ run: GradientRun, watching extra: [HookPoint] = []) -> [HookPoint: Tensor] {
        let layers = model.layerCount, final = HookPoint.residPost(layers - 1)
        var residuals = [Tensor](repeating: Tensor.zeros([0]), count: layers)
        let pointGradients: [String: Tensor] = withGradients { tape in
            let hooks = ForwardHooks()
            if let (point, value) = replacement(for: run) { hooks.add(point) { _, _ in value } }
            var points: [HookPoint] = []
            for (l, block) in model.blocks.enumerated() {
                hooks.add(.residPre(l)) { x, _ in
                    residuals[l] = x.detached
                    return x
                }
                points += block.attentionGradientPoints + (graph.hasMLPs ? [.mlpIn(l)] : [])
            }
            points.append(final)
            let watched = WatchedActivations((points + extra).map(\.name), hooks: hooks, tape: tape)
            let logits = model.forward(run == .corrupted ? pairs.corrupted : pairs.clean, hooks: hooks, logitPositions: .last)
            return watched.gradients(of: metric(logits), on: tape)
        }
        var result = [final: pointGradients[final.name]!]
        for (l, block) in model.blocks.enumerated() {
            let inputs = block.attentionInputGradients(
                at: residuals[l], projectionGradients: block.attentionGradientPoints.map { pointGradients[$0.name]! })
            for (point, gradient) in zip([HookPoint.qInput(l), .kInput(l), .vInput(l)], inputs) { result[point] = gradient }
            if graph.hasMLPs { result[.mlpIn(l)] = pointGradients[HookPoint.mlpIn(l).name]! }
        }
        for point in extra { result[point] = pointGradients[point.name]! }
        return result
    }

    /// `[senders, receivers]` scores `scale · Σ (source − clean output of s) · ∂m/∂(input of r)`; in a
    /// position-aware graph `[senders, receivers, positions]`, the sum taken over each bucket's token positions
    /// only (the per-position products summed within the bucket, so the buckets' scores add up to the plain score).
    ///
    /// One GEMM per block, `[senders up to the block's MLP, B·P·d] × [B·P·d, receivers of the block]`: the
    /// stacked deltas are streamed once per block (not once per q/k/v group), and the many senders are the
    /// GEMM's rows. Products of senders a receiver does not read (the block's MLP into its heads) are dropped.
    /// Position-aware, one GEMM per block and bucket over that bucket's tokens (deltas and gradients gathered),
    /// so the products cost what the plain ones do.
    private func scoreMatrix(_ gradients: [HookPoint: Tensor], scale: Float) -> [Float] {
        let receiverCount = graph.receivers.count, positions = graph.positionCount, width = model.dModel
        var scores = [Float](repeating: 0, count: graph.senders.count * receiverCount * positions)
        // Per bucket, its flat token indices and the senders' deltas at them, gathered once.
        let bucketTokens = positionBuckets.map { buckets in
            (0..<positions).map { b in
                buckets.assignment.enumerated().flatMap { i, row in row.indices.filter { row[$0] == b }.map { i * pairs.length + $0 } }
            }
        }
        let bucketDeltas = bucketTokens?.map { Self.gatherTokens(senderDeltas, $0, width: width) }
        for l in 0..<model.layerCount {
            let block = BlockReceivers(graph, layer: l)
            // [count, B, P, d] per q/k/v group -> rows [count, BPd]; the MLP input and the logits are one row each.
            var rows = [(HookPoint.qInput(l), block.queries), (.kInput(l), block.keys), (.vInput(l), block.values)]
                .map { point, range in gradients[point]!.reshaped([range.count, -1]) }
            var receivers = Array(block.queries.lowerBound..<block.values.upperBound)
            if let mlp = block.mlp {
                rows.append(gradients[.mlpIn(l)]!.reshaped([1, -1]))
                receivers.append(mlp)
            }
            if l == model.layerCount - 1 {
                rows.append(gradients[.residPost(l)]!.reshaped([1, -1]))
                receivers.append(graph.index(of: .logits))
            }
            let gradientRows = Tensor.concatenate(rows, axis: 0)
            let parts = bucketDeltas.map { deltas in
                zip(deltas, bucketTokens!).map { ($0, Self.gatherTokens(gradientRows, $1, width: width)) }
            } ?? [(senderDeltas, gradientRows)]
            let upstream = receivers.map { graph.upstreamCount(of: $0) }.max()!
            for (p, (deltaRows, gradientRows)) in parts.enumerated() {
                let size = gradientRows.shape[1]
                var products = [Float](repeating: 0, count: upstream * receivers.count)          // [upstream, receivers]
                if size > 0 {
                    deltaRows.scalars.withUnsafeBufferPointer { deltas in
                        gradientRows.scalars.withUnsafeBufferPointer { gradients in
                            products.withUnsafeMutableBufferPointer { c in
                                GEMM.multiply(m: upstream, n: receivers.count, k: size, a: deltas.baseAddress!, lda: size,
                                              b: gradients.baseAddress!, ldb: size, transposeB: true, c: c.baseAddress!,
                                              ldc: receivers.count, alpha: scale)
                            }
                        }
                    }
                }
                for (column, r) in receivers.enumerated() {
                    for s in 0..<graph.upstreamCount(of: r) {
                        scores[(s * receiverCount + r) * positions + p] = products[s * receivers.count + column]
                    }
                }
            }
        }
        return scores
    }

    /// `[rows, tokens·width]`: the tokens `tokens` (flat indices of `width` values each) of every row of a
    /// `[rows, B·P·width]` matrix.
    static func gatherTokens(_ matrix: Tensor, _ tokens: [Int], width: Int) -> Tensor {
        let rows = matrix.shape[0], length = matrix.shape[1], gathered = tokens.count * width
        guard gathered > 0 else { return Tensor.zeros([rows, 0]) }
        return matrix.scalars.withUnsafeBufferPointer { source in
            Tensor.build(shape: [rows, gathered]) { out in
                let from = source.baseAddress!, to = out.baseAddress!
                Parallel.forEach(rows) { r in
                    for (j, t) in tokens.enumerated() {
                        (to + r * gathered + j * width).initialize(from: from + r * length + t * width, count: width)
                    }
                }
            }
        }
    }
}
