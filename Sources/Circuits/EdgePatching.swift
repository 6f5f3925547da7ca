/// Runs a model on the clean prompts with any set of edges patched, many sets per batched forward pass.
///
/// A receiver's input is the sum of its senders' outputs (plus constant biases), so patching the edge
/// `s → r` means: `r`'s input = its input in the current run + (`s`'s output under the patch source −
/// `s`'s output in the current run). The patch source is the corrupted run, zero, or a reference mean. Behind a
/// post-attention norm a head's output in a run is its share of the normalized attention output at that run's
/// divisor (``TransformerBlock/headSenderOutputs(results:postNormDivisor:)``), read during the patched pass itself.
/// Sender outputs of both runs are cached once; each patched run starts from the clean residual stream (``PatchedRuns``)
/// before the first block that receives a patched edge, and after the positions every patched run shares with the
/// clean run (``CleanPrefix``: before the first corrupted token).
///
/// ```swift
/// let patching = try EdgePatching(model: model, pairs: pairs, metric: metric)
/// let graph = patching.graph
/// let mask = EdgeMask(graph: graph, edges: [graph.edgesByName()["a0.h1->logits"]!])
/// let value = patching.metrics([mask])[0]
/// ```
public struct EdgePatching {
    /// What a patched edge carries instead of the sender's current output.
    public enum Source {
        /// The sender's output on the corrupted prompts.
        case corrupted
        /// Zero (ablation).
        case zero
        /// The sender's output averaged over the examples of a reference batch (same length as the prompts), per
        /// position (MIB's `mean-positional`).
        case meanPerPosition(TokenBatch)
        /// The sender's output averaged over the real positions of each example of a reference batch (any length),
        /// then over the examples: one vector at every position (MIB's `mean`).
        case meanOverPositions(TokenBatch)
    }

    public let model: TransformerModel
    public let graph: ComputationGraph
    public let pairs: PromptPairs
    /// The position buckets of a position-aware graph (see ``PositionBuckets``); nil for the plain graph.
    public let positionBuckets: PositionBuckets?
    public let metric: Metric
    /// The metric on the clean run and with every edge patched (the corrupted run when the source is corrupted).
    public let cleanValue: Float
    public internal(set) var corruptedValue: Float = 0
    /// `[batch, vocab]` clean logits at the read positions.
    public let cleanLogits: Tensor
    /// `[batch, vocab]` logits with every edge patched when known without a pass (the corrupted run's), else nil.
    let allPatchedLogits: Tensor?
    /// Row `s`: sender `s`'s source output − clean output, `[senders, batch·pos·dModel]` (one block, which EAP's
    /// scores read as a matrix).
    let senderDeltas: Tensor
    /// Per sender: source output, `[batch, pos, dModel]` (compact for large models, see ``SenderSources``).
    let sourceOutputs: SenderSources
    /// Per residual point a receiver reads (``ComputationGraph/readPoint(of:)``): the input with every incoming
    /// edge patched, clean input + Σ over its senders of their base deltas.
    let allPatchedInputs: [HookPoint: Tensor]
    /// The same residual points on the clean run.
    let cleanInputs: [HookPoint: Tensor]
    /// The positions every patched run shares with the clean run, which patched passes skip.
    let cleanPrefix: CleanPrefix
    /// The patched runs of the clean prompts.
    var runs: PatchedRuns
    /// Upper bound on rows (examples × masks) per batched forward pass.
    public var maxRowsPerPass: Int {
        get { runs.maxRowsPerPass }
        set { runs.maxRowsPerPass = newValue }
    }

    /// Caches the clean and source runs.
    ///
    /// - Parameter metric: built from the clean logits at the read positions, e.g.
    ///   `{ MetricKind.kl.metric(answers:wrongs:reference: $0) }`.
    /// - Parameter positions: position buckets for a position-aware graph (edges per bucket); nil for the plain graph.
    public init(model: TransformerModel, pairs: PromptPairs, source: Source = .corrupted, positions: PositionBuckets? = nil,
                metric makeMetric: (_ cleanLogits: Tensor) -> Metric) throws {
        if let positions, positions.exampleCount != pairs.count || positions.length != pairs.length {
            throw CircuitError.invalidArgument("the position buckets cover \(positions.exampleCount) examples of \(positions.length) "
                + "tokens, the prompts are \(pairs.count) of \(pairs.length)")
        }
        self.model = model
        self.pairs = pairs
        positionBuckets = positions
        graph = ComputationGraph(model: model, positions: positions?.labels ?? [])
        try Self.checkBudget(model: model, pairs: pairs, graph: graph)
        // Compact for a large model, like the sources: only the deltas are held in full.
        let (cleanOutputs, cleanInputs, logits) = try Self.sourceOutputs(model: model, batch: pairs.clean, graph: graph)
        let outputShape = cleanOutputs[0].shape
        cleanLogits = logits.reshaped([pairs.count, -1])
        metric = makeMetric(cleanLogits)
        // With the corrupted run as the source, patching every edge gives the corrupted run itself.
        var allPatchedLogits: Tensor?
        switch source {
        case .corrupted:
            let corrupted = try Self.sourceOutputs(model: model, batch: pairs.corrupted, graph: graph)
            sourceOutputs = corrupted.outputs
            allPatchedLogits = corrupted.logits.reshaped([pairs.count, -1])
        case .zero:
            sourceOutputs = SenderSources(model: model, cleanOutputs.map { _ in Tensor.zeros(outputShape) })
        case .meanPerPosition(let reference):
            guard reference.length == pairs.length else {
                throw CircuitError.invalidArgument("the mean reference has \(reference.length) positions, the prompts \(pairs.length)")
            }
            sourceOutputs = SenderSources(model: model, try Self.senderOutputs(model: model, batch: reference, graph: graph).outputs
                .map { $0.mean(axis: 0, keepingDimension: true).broadcast(to: outputShape) })
        case .meanOverPositions(let reference):
            sourceOutputs = SenderSources(model: model, Self.positionMeans(try Self.senderOutputs(model: model, batch: reference, graph: graph).outputs,
                                                                           mask: reference.mask, shape: outputShape))
        }
        let size = cleanOutputs[0].count
        let deltas = Self.stackedDifferences(sourceOutputs, cleanOutputs)
        senderDeltas = deltas
        cleanPrefix = CleanPrefix(senderDeltas: deltas, pairs: pairs, dModel: model.dModel, positionAware: positions != nil)
        // Running sums of the deltas give each read point's all-patched input.
        var patchedInputs: [HookPoint: Tensor] = [:], deltaSum = Tensor.zeros(outputShape), summed = 0
        for (point, upstream) in graph.readPoints {
            precondition(upstream >= summed, "read points must sum growing prefixes of the senders")
            var sums = Tensor.WeightedSums(rows: 1, length: size)
            sums.add(.init(deltaSum), weights: [1])
            while summed < upstream {
                sums.add(.init(deltas, offset: summed * size), weights: [1])
                summed += 1
            }
            deltaSum = sums.result().reshaped(deltaSum.shape)
            patchedInputs[point] = cleanInputs[point]! + deltaSum
        }
        allPatchedInputs = patchedInputs
        self.cleanInputs = cleanInputs
        runs = PatchedRuns(model: model, batch: pairs.clean,
                           residuals: PatchedRuns.cachedPoints(of: model).map { cleanInputs[$0]! }, metric: metric)
        self.allPatchedLogits = allPatchedLogits
        cleanValue = metric(cleanLogits).item
        corruptedValue = allPatchedLogits.map { metric($0).item } ?? metrics([.all(graph)])[0]
    }

    /// Convenience: a named metric kind compared with the clean run.
    public init(model: TransformerModel, pairs: PromptPairs, source: Source = .corrupted, positions: PositionBuckets? = nil,
                metric kind: MetricKind) throws {
        try self.init(model: model, pairs: pairs, source: source, positions: positions) { clean in
            kind.metric(answers: pairs.answers, wrongs: pairs.wrongs, reference: clean)
        }
    }

    /// Every sender's output on `batch` (the embeddings `resid_pre` 0, each head's `hook_result` — with a
    /// post-attention norm its share of the normalized output, ``TransformerBlock/headSenderOutputs(results:postNormDivisor:)`` —
    /// each MLP's `hook_mlp_out`), the residual at each point a receiver reads, and the logits at each example's
    /// last token (the read position: both prompts of a pair have the same length).
    static func senderOutputs(model: TransformerModel, batch: TokenBatch, graph: ComputationGraph) throws
        -> (outputs: [Tensor], receiverInputs: [HookPoint: Tensor], logits: Tensor) {
        let readPoints = graph.readPoints.map(\.point)
        let senderPoints = [HookPoint.residPre(0)] + (0..<model.layerCount).flatMap { l in
            model.blocks[l].headWritePoints + (graph.hasMLPs ? [.mlpOut(l)] : [])
        }
        let logits: Tensor
        var cache: [String: Tensor]
        (logits, cache) = try cachedRun(model: model, batch: batch, points: senderPoints + readPoints)
        // Each cached activation is released once its outputs are taken, so the run's cache and the outputs
        // split from it are not held twice.
        func take(_ point: HookPoint) -> Tensor { cache.removeValue(forKey: point.name)! }
        var inputs: [HookPoint: Tensor] = [:]
        for point in readPoints { inputs[point] = cache[point.name]! }
        var outputs = [take(.residPre(0))]
        for l in 0..<model.layerCount {
            let block = model.blocks[l]
            let heads = block.headSenderOutputs(results: take(.result(l)),
                                                postNormDivisor: block.headsShareNorm ? take(.ln1PostScale(l)) : nil)
            outputs += (0..<graph.headCount).map { heads.select(axis: 2, $0) }
            if graph.hasMLPs { outputs.append(take(.mlpOut(l))) }
        }
        return (outputs, inputs, logits)
    }

    /// The logits at each example's last token and the activations at `points`, by canonical name (the cache
    /// itself released, so that removing an entry frees it).
    private static func cachedRun(model: TransformerModel, batch: TokenBatch, points: [HookPoint]) throws
        -> (logits: Tensor, activations: [String: Tensor]) {
        let (logits, cache) = try model.runWithCache(batch, filter: .points(points), logitPositions: .last)
        return (logits, cache.activations)
    }

    /// Receiver `receiver`'s input with every incoming edge patched, `[batch, pos, dModel]`.
    func allPatchedInput(of receiver: Int) -> Tensor { allPatchedInputs[graph.readPoint(of: receiver)]! }

    /// Receiver `receiver`'s input on the clean run, `[batch, pos, dModel]`.
    func cleanInput(of receiver: Int) -> Tensor { cleanInputs[graph.readPoint(of: receiver)]! }

    /// The metric with each mask's edges patched, in passes of at most ``maxRowsPerPass`` rows (only the logits
    /// the metric reads are computed).
    public func metrics(_ masks: [EdgeMask]) -> [Float] {
        let perPass = Swift.max(1, maxRowsPerPass / pairs.count)
        return stride(from: 0, to: masks.count, by: perPass).flatMap { start in
            let chunk = Array(masks[start..<Swift.min(start + perPass, masks.count)])
            return variantMetrics(read: patchedReadResiduals(chunk), variants: chunk.count)
        }
    }

    /// `[masks * batch, vocab]` logits at the read positions with each mask's edges patched.
    public func patchedLogits(_ masks: [EdgeMask]) -> Tensor {
        model.unembed(patchedReadResiduals(masks), hooks: nil).reshaped([masks.count * pairs.count, -1])
    }

    /// `[masks * batch, 1, dModel]`: the final residual stream at the read positions with each mask's edges
    /// patched (the logits' input). The pass resumes from the clean run before the first block that receives a
    /// patched edge, and after the ``cleanPrefix`` positions.
    func patchedReadResiduals(_ masks: [EdgeMask]) -> Tensor {
        let variants = masks.count, layers = model.layerCount, allSenders = 0..<graph.senders.count
        let later = cleanPrefix.later as (Tensor) -> Tensor
        let firstLayer = (0..<layers).first { l in
            masks.contains { $0.selectsAny(into: BlockReceivers(graph, layer: l).all, senders: allSenders) }
        } ?? layers
        var deltas: [SenderDelta?] = allSenders.map { s in
            s < graph.sendersBefore(layer: firstLayer) && cleanPrefix.length == 0 ? SenderDelta(baseDelta: s, of: self) : nil
        }
        // After a clean prefix, the earlier senders' deltas are sliced when a receiver weighs them.
        let baseDelta = BaseDeltas(cleanPrefix.length == 0 ? 0..<0 : 0..<graph.sendersBefore(layer: firstLayer)) { s in
            SenderDelta(current: later(self.senderDeltas.select(axis: 0, s).reshaped(self.sourceOutputs[0].shape)), sign: 1)
        }
        // Heads of layers whose source is compact and has no post-attention norm: in z space (see ``HeadZDeltas``).
        var zDeltas: [HeadZDeltas] = []
        let keptDifferences = KeptHeadDifferences(byteLimit: Self.keptHeadDifferenceByteLimit)
        let hooks = ForwardHooks()
        for l in firstLayer..<layers {
            let receivers = BlockReceivers(graph, layer: l)
            let headSenders = graph.index(of: .head(layer: l, head: 0))
            let attentionGroups = [(HookPoint.qInput(l), receivers.queries), (.kInput(l), receivers.keys),
                                   (.vInput(l), receivers.values)]
                .filter { _, range in masks.contains { $0.selectsAny(into: range, senders: allSenders) } }
            if !attentionGroups.isEmpty {
                var residual = Tensor.zeros([0])
                hooks.add(.residPre(l)) { x, _ in
                    residual = x
                    return x
                }
                for (point, range) in attentionGroups {
                    hooks.add(point) { _, _ in
                        self.receiverInput(masks, deltas: deltas, zDeltas: zDeltas, baseDelta: baseDelta, receivers: range,
                                           perHead: true, current: residual)
                    }
                }
            }
            // A head's current output; with a post-attention norm, from its result and the norm's divisor in this run.
            let block = model.blocks[l]
            if !block.headsShareNorm, let sourceZ = sourceOutputs.compactZ(layer: l) {
                hooks.add(.z(l)) { z, _ in
                    zDeltas.append(HeadZDeltas(layer: l, firstSender: headSenders, attention: block.attention, current: z,
                                               source: later(sourceZ), variants: variants, kept: keptDifferences))
                    return z
                }
            } else {
                var results = Tensor.zeros([0])
                func recordHeads(divisor: Tensor?) {
                    let outputs = block.headSenderOutputs(results: results, postNormDivisor: divisor)
                    for h in 0..<graph.headCount {
                        deltas[headSenders + h] = SenderDelta(current: outputs.select(axis: 2, h),
                                                              source: later(sourceOutputs[headSenders + h]), variants: variants)
                    }
                    results = Tensor.zeros([0])   // not held by the hooks for the rest of the pass
                }
                hooks.add(.result(l)) { x, _ in
                    results = x
                    if !block.headsShareNorm { recordHeads(divisor: nil) }
                    return x
                }
                if block.headsShareNorm {
                    hooks.add(.ln1PostScale(l)) { divisor, _ in
                        recordHeads(divisor: divisor)
                        return divisor
                    }
                }
            }
            if let mlp = receivers.mlp {
                let mlpSender = graph.index(of: ComputationGraph.Sender.mlp(layer: l))
                if masks.contains(where: { $0.selectsAny(into: mlp..<(mlp + 1), senders: allSenders) }) {
                    hooks.add(.mlpIn(l)) { x, _ in
                        self.receiverInput(masks, deltas: deltas, zDeltas: zDeltas, baseDelta: baseDelta, receivers: mlp..<(mlp + 1),
                                           perHead: false, current: x)
                    }
                }
                hooks.add(.mlpOut(l)) { x, _ in
                    deltas[mlpSender] = SenderDelta(current: x, source: later(sourceOutputs[mlpSender]), variants: variants)
                    return x
                }
            }
        }
        let logitsReceiver = graph.index(of: .logits)
        let readsLogits = masks.contains { $0.selectsAny(into: logitsReceiver..<(logitsReceiver + 1), senders: allSenders) }
        let start = cleanPrefix.length
        let batch = cleanPrefix.later(pairs.clean).repeated(variants)
        let cache = cleanPrefix.cache(model: model, clean: pairs.clean, variants: variants)
        var residual = later(runs.residuals[firstLayer]).repeatedAlongBatch(variants)
        if firstLayer < layers {
            residual = model.runBlocks(firstLayer..<layers, residual: residual,
                                       context: AttentionContext(batch: batch, pastMask: cache?.mask, pastPositions: cache?.nextPositions),
                                       hooks: hooks, cache: cache)
        }
        if readsLogits {
            residual = receiverInput(masks, deltas: deltas, zDeltas: zDeltas, baseDelta: baseDelta,
                                     receivers: logitsReceiver..<(logitsReceiver + 1), perHead: false, current: residual)
        }
        return residual.gather(positions: Array(Array(repeating: pairs.readPositions.map { $0 - start }, count: variants).joined()))
    }

    /// The inputs of the receivers `receivers` (one group reading one residual point: a block's queries, keys or
    /// values, its MLP, or the logits), for every variant: `[variants * batch, pos, receivers, d]` when
    /// `perHead`, else `[variants * batch, pos, d]`. `current` is the residual stream the group reads in this
    /// run, `[variants * batch, pos, d]`.
    ///
    /// A receiver's input is the sum of its senders' outputs, so it is computed from whichever side needs
    /// fewer deltas: `current + Σ_{patched s} delta_s`, or ``allPatchedInputs`` `− Σ_{unpatched s} delta_s`
    /// (ACDC's receivers are mostly patched once visited). The vectors are read in place by one weighted-sum
    /// kernel; those with one weight for every receiver are summed once, and zero weights cost nothing. Heads
    /// held in z space (`zDeltas`, their `deltas` entries nil) are mixed through W_O a layer at a time, computed
    /// only where a receiver's weight on them is nonzero, and once per pass for all the receiver groups that read
    /// them, within ``keptHeadDifferenceByteLimit`` (``KeptHeadDifferences``).
    ///
    /// After a clean prefix (``cleanPrefix``) every tensor covers the later positions only, and the deltas of
    /// senders before the pass's first block come from `baseDelta`, sliced when first weighed.
    func receiverInput(_ masks: [EdgeMask], deltas: [SenderDelta?], zDeltas: [HeadZDeltas] = [], baseDelta: BaseDeltas = .none,
                       receivers: Range<Int>, perHead: Bool, current: Tensor) -> Tensor {
        let length = pairs.length - cleanPrefix.length
        let size = pairs.count * length * model.dModel, rows = receivers.count
        let senders = graph.upstreamCount(of: receivers.lowerBound)
        let allPatched = cleanPrefix.later(allPatchedInput(of: receivers.lowerBound))
        /// Variant `v`'s inputs with the edges `selected(s, r)` patched.
        func mixed(variant v: Int, _ selected: (_ sender: Int, _ receiver: Int) -> Float) -> Tensor {
            // Per receiver: whether it starts from the all-patched input (fewer unpatched than patched senders).
            let fromAllPatched = receivers.map { r in
                let patched = (0..<senders).reduce(0) { $0 + (selected($1, r) != 0 ? 1 : 0) }
                return senders - patched < patched
            }
            var mix = Tensor.WeightedSums(rows: rows, length: size)
            mix.add(Tensor.VectorView(current, offset: v * size), weights: fromAllPatched.map { $0 ? 0 : 1 })
            mix.add(Tensor.VectorView(allPatched), weights: fromAllPatched.map { $0 ? 1 : 0 })
            /// Sender `s`'s weight per receiver for its delta `source − current`.
            func weights(_ s: Int) -> [Float] {
                zip(receivers, fromAllPatched).map { r, fromPatched in fromPatched ? selected(s, r) - 1 : selected(s, r) }
            }
            for s in 0..<senders {
                let senderWeights = weights(s)
                guard let delta = deltas[s] ?? (senderWeights.contains { $0 != 0 } ? baseDelta[s] : nil) else { continue }
                mix.add(Tensor.VectorView(delta.values, offset: delta.offset + (delta.perVariant ? v * size : 0)),
                        weights: senderWeights.map { $0 * delta.sign })
            }
            for layer in zDeltas where layer.firstSender < senders {
                layer.add(to: &mix, variant: v, weights: weights)
            }
            return mix.result(interleaving: perHead ? model.dModel : nil)
        }
        let perVariant = (0..<masks.count).map { v in
            let mask = masks[v]
            guard let buckets = positionBuckets else { return mixed(variant: v) { mask[$0, $1] } }
            // Position-aware: each token position reads the mix of its bucket's mask; buckets with one mask share a mix.
            var groups: [[Float]: [Int]] = [:]
            for b in 0..<graph.positionCount {
                groups[(0..<senders).flatMap { s in receivers.map { mask[s, $0, b] } }, default: []].append(b)
            }
            guard groups.count > 1 else { return mixed(variant: v) { mask[$0, $1, 0] } }
            // The buckets are disjoint, so at each position one term is its mix and the others add zeros.
            let parts = groups.values.sorted { $0[0] < $1[0] }.map { bucketsOfMix in
                mixed(variant: v) { mask[$0, $1, bucketsOfMix[0]] }.reshaped([pairs.count, length, -1])
                    * buckets.indicator(where: bucketsOfMix.contains)
            }
            return parts.dropFirst().reduce(parts[0], +)
        }
        let mixed = masks.count == 1 ? perVariant[0] : Tensor.concatenate(perVariant.map { $0.reshaped([-1]) }, axis: 0)
        return mixed.reshaped(perHead ? [masks.count * pairs.count, length, rows, model.dModel] : current.shape)
    }
}

/// The receivers of one block by role, as index ranges into ``ComputationGraph/receivers``.
struct BlockReceivers {
    let queries, keys, values: Range<Int>
    /// The MLP's input, if the block has an MLP.
    let mlp: Int?

    init(_ graph: ComputationGraph, layer: Int) {
        let q = graph.index(of: .query(layer: layer, head: 0))
        let k = q + graph.headCount, v = k + graph.keyValueHeadCount, end = v + graph.keyValueHeadCount
        (queries, keys, values, mlp) = (q..<k, k..<v, v..<end, graph.hasMLPs ? end : nil)
    }

    /// Every receiver of the block.
    var all: Range<Int> { queries.lowerBound..<(mlp.map { $0 + 1 } ?? values.upperBound) }
}

/// A sender's patch delta during a batched patched pass: `sign · values` (from `offset` on) is what patching
/// its edges adds to a receiver's input: `batch·pos·d` values shared by every variant, or `variants` times as
/// many.
struct SenderDelta {
    let values: Tensor
    let offset: Int
    let perVariant: Bool
    let sign: Float

    /// A sender's cached delta (its row of `senderDeltas`), the same for every variant.
    init(baseDelta sender: Int, of patching: EdgePatching) {
        values = patching.senderDeltas
        offset = sender * patching.senderDeltas.shape[1]
        perVariant = false
        sign = 1
    }

    /// The delta `source − current` of a sender computed in this pass, stored as `current − source` with sign
    /// −1 (one broadcasting subtraction, no repeated copy of the source).
    init(current: Tensor, source: Tensor, variants: Int) {
        values = current.reshaped([variants, -1]) - source.reshaped([-1])
        offset = 0
        perVariant = true
        sign = -1
    }

    /// A delta `sign · values`, the same for every variant.
    init(current values: Tensor, sign: Float) {
        self.values = values
        offset = 0
        perVariant = false
        self.sign = sign
    }
}

/// The deltas of the senders `senders`, the same for every variant, each made on first use during one patched
/// pass (a class, so that the pass's hooks share what is made).
final class BaseDeltas {
    static var none: BaseDeltas { BaseDeltas(0..<0) { _ in preconditionFailure("no sender delta is made here") } }

    private let senders: Range<Int>
    private let make: (Int) -> SenderDelta
    private var made: [Int: SenderDelta] = [:]

    init(_ senders: Range<Int>, make: @escaping (Int) -> SenderDelta) {
        self.senders = senders
        self.make = make
    }

    /// Sender `s`'s delta, nil outside `senders`.
    subscript(s: Int) -> SenderDelta? {
        guard senders.contains(s) else { return nil }
        if let known = made[s] { return known }
        let delta = make(s)
        made[s] = delta
        return delta
    }
}

extension EdgePatching {
    /// Row `s` of the result: `a[s] − b[s]`, for tensors of one element count, read in order a block at a
    /// time (compact sources recompute each layer once).
    static func stackedDifferences(_ a: SenderSources, _ b: SenderSources) -> Tensor {
        let size = a[0].count, count = a.count, block = 64
        return Tensor.build(shape: [count, size]) { out in
            let base = out.baseAddress!
            for start in stride(from: 0, to: count, by: block) {
                let rows = start..<Swift.min(start + block, count)
                let minuends = rows.map { a[$0] }, subtrahends = rows.map { b[$0] }
                Parallel.forEach(rows.count) { i in
                    minuends[i].scalars.withUnsafeBufferPointer { x in
                        subtrahends[i].scalars.withUnsafeBufferPointer { y in
                            let row = base + (rows.lowerBound + i) * size
                            for j in 0..<size { row[j] = x[j] - y[j] }
                        }
                    }
                }
            }
        }
    }

    /// Sender `s`'s source output − clean output, `[batch·pos·dModel]`, read in place.
    func baseDelta(_ s: Int) -> Tensor.VectorView { .init(senderDeltas, offset: s * senderDeltas.shape[1]) }
}
