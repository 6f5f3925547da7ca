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
    ///
    /// Memory stays at one block's receiver gradients: each run's products are added to the scores block by
    /// block as the block's head-input gradients are formed, never holding every block's at once (with several
    /// runs the scores are the mean of the runs' products, equal to the product of the mean gradient up to
    /// rounding).
    func gradientScoreMatrix(_ runs: [GradientRun], watching extra: [HookPoint] = [], progress: ProgressReporter = .silent,
                             step: String = "attribution") -> (scores: [Float], watched: [HookPoint: Tensor]) {
        let scale = 1 / Float(runs.count)
        var scores = ScoreAccumulator(self)
        var watched: [HookPoint: Tensor] = [:]
        for (i, run) in runs.enumerated() {
            let pass = passGradients(run, watching: extra)
            for l in 0..<model.layerCount {
                let (rows, receivers) = receiverGradientRows(pass, layer: l)
                scores.add(rows, receivers: receivers, scale: scale)
            }
            for point in extra {
                let g = pass.points[point.name]!
                watched[point] = watched[point].map { $0 + g } ?? g
            }
            progress.report(step, done: i + 1, total: runs.count, unit: "passes")
        }
        return (scores.values, watched.mapValues { $0 * scale })
    }

    /// What one plain forward and backward pass gives: ∂m/∂(activation) keyed by hook name at each block's
    /// ``TransformerBlock/attentionGradientPoints``, the MLP inputs, the final `resid_post` and the watched
    /// points, with each block's `resid_pre` (where its heads' input gradients are taken).
    struct PassGradients {
        let points: [String: Tensor]
        let residuals: [Tensor]
    }

    /// One plain forward and backward pass (the clean prompts, the corrupted ones, or the clean ones with a
    /// sender group's output replaced; a replaced output is a constant: no gradient flows back through it).
    /// No per-head copies of the residual stream are made: ``receiverGradientRows(_:layer:)`` takes each
    /// block's gradients back to its heads' inputs.
    func passGradients(_ run: GradientRun, watching extra: [HookPoint]) -> PassGradients {
        let layers = model.layerCount
        var residuals = [Tensor](repeating: Tensor.zeros([0]), count: layers)
        let points: [String: Tensor] = withGradients { tape in
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
            points.append(.residPost(layers - 1))
            let watched = WatchedActivations((points + extra).map(\.name), hooks: hooks, tape: tape)
            let logits = model.forward(run == .corrupted ? pairs.corrupted : pairs.clean, hooks: hooks, logitPositions: .last)
            return watched.gradients(of: metric(logits), on: tape)
        }
        return PassGradients(points: points, residuals: residuals)
    }

    /// ∂m/∂(input of every receiver of block `l`) in one pass, one row of `B·P·d` values per receiver (graph
    /// indices `receivers`): each head's own copy of the residual stream it reads for queries, keys and values
    /// (head-major, as TransformerLens' split `hook_q_input`/`hook_k_input`/`hook_v_input` would give,
    /// ``TransformerBlock/attentionInputGradients(at:projectionGradients:)``), then `hook_mlp_in`, then, in the
    /// last block, the final `hook_resid_post` (the logits' input).
    func receiverGradientRows(_ pass: PassGradients, layer l: Int) -> (rows: Tensor, receivers: [Int]) {
        let block = BlockReceivers(graph, layer: l), transformerBlock = model.blocks[l]
        let inputs = transformerBlock.attentionInputGradients(
            at: pass.residuals[l], projectionGradients: transformerBlock.attentionGradientPoints.map { pass.points[$0.name]! })
        var rows = zip(inputs, [block.queries, block.keys, block.values]).map { $0.reshaped([$1.count, -1]) }
        var receivers = Array(block.queries.lowerBound..<block.values.upperBound)
        if let mlp = block.mlp {
            rows.append(pass.points[HookPoint.mlpIn(l).name]!.reshaped([1, -1]))
            receivers.append(mlp)
        }
        if l == model.layerCount - 1 {
            rows.append(pass.points[HookPoint.residPost(l).name]!.reshaped([1, -1]))
            receivers.append(graph.index(of: .logits))
        }
        return (Tensor.concatenate(rows, axis: 0), receivers)
    }

    /// The `[senders, receivers]` scores `scale · Σ (source − clean output of s) · ∂m/∂(input of r)`, added up
    /// block by block; in a position-aware graph `[senders, receivers, positions]`, the sum taken over each
    /// bucket's token positions only (the per-position products summed within the bucket, so the buckets'
    /// scores add up to the plain score).
    ///
    /// One GEMM per block, `[senders up to the block's MLP, B·P·d] × [B·P·d, receivers of the block]`: the
    /// stacked deltas are streamed once per block (not once per q/k/v group), and the many senders are the
    /// GEMM's rows. Products of senders a receiver does not read (the block's MLP into its heads) are dropped.
    /// Position-aware, one GEMM per block and bucket over that bucket's tokens (deltas and gradients gathered),
    /// so the products cost what the plain ones do.
    struct ScoreAccumulator {
        let patching: EdgePatching
        private(set) var values: [Float]
        /// Per bucket, its flat token indices and the senders' deltas at them, gathered once.
        private let bucketTokens: [[Int]]?
        private let bucketDeltas: [Tensor]?

        init(_ patching: EdgePatching) {
            self.patching = patching
            let graph = patching.graph, positions = graph.positionCount, length = patching.pairs.length
            values = [Float](repeating: 0, count: graph.senders.count * graph.receivers.count * positions)
            bucketTokens = patching.positionBuckets.map { buckets in
                (0..<positions).map { b in
                    buckets.assignment.enumerated().flatMap { i, row in row.indices.filter { row[$0] == b }.map { i * length + $0 } }
                }
            }
            bucketDeltas = bucketTokens?.map { EdgePatching.gatherTokens(patching.senderDeltas, $0, width: patching.model.dModel) }
        }

        /// Adds the products of the senders' deltas with the gradient `rows` of `receivers` (one block's).
        mutating func add(_ rows: Tensor, receivers: [Int], scale: Float) {
            let graph = patching.graph, receiverCount = graph.receivers.count, positions = graph.positionCount
            let width = patching.model.dModel
            let parts = bucketDeltas.map { deltas in
                zip(deltas, bucketTokens!).map { ($0, EdgePatching.gatherTokens(rows, $1, width: width)) }
            } ?? [(patching.senderDeltas, rows)]
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
                        values[(s * receiverCount + r) * positions + p] += products[s * receivers.count + column]
                    }
                }
            }
        }
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
