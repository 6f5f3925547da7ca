/// Runs a model on the clean prompts with any set of edges patched, many sets per batched forward pass.
///
/// A receiver's input is the sum of its senders' outputs (plus constant biases), so patching the edge
/// `s → r` means: `r`'s input = its input in the current run + (`s`'s output under the patch source −
/// `s`'s output in the current run). The patch source is the corrupted run, zero, or a reference mean.
/// Sender outputs of both runs are cached once; each patched run starts from the clean residual stream
/// before the first block that receives a patched edge.
///
/// ```swift
/// let patching = try EdgePatching(model: model, pairs: pairs, metric: metric)
/// let graph = patching.graph
/// let mask = EdgeMask(graph: graph, edges: [try graph.edgesByName()["a0.h1->logits"]!])
/// let value = patching.metrics([mask])[0]
/// ```
public struct EdgePatching {
    /// What a patched edge carries instead of the sender's current output.
    public enum Source {
        /// The sender's output on the corrupted prompts.
        case corrupted
        /// Zero (ablation).
        case zero
        /// The sender's output averaged over the examples of a reference batch (same length as the prompts).
        case mean(TokenBatch)
    }

    public let model: TransformerModel
    public let graph: ComputationGraph
    public let pairs: PromptPairs
    public let metric: Metric
    /// The metric on the clean run and with every edge patched (the corrupted run when the source is corrupted).
    public let cleanValue: Float
    public private(set) var corruptedValue: Float = 0
    /// `[batch, vocab]` clean logits at the read positions.
    public let cleanLogits: Tensor
    /// Row `s`: sender `s`'s source output − clean output, `[senders, batch·pos·dModel]` (one block, which EAP's
    /// scores read as a matrix).
    let senderDeltas: Tensor
    /// Per sender: source output, `[batch, pos, dModel]`.
    let sourceOutputs: [Tensor]
    /// Per receiver input point, keyed by its upstream sender count `U` (the q/k/v inputs of a block, its MLP
    /// input, the logits): the input with every incoming edge patched, clean input + Σ_{s<U} base delta.
    let allPatchedInputs: [Int: Tensor]
    /// The same receiver input points on the clean run (block `l`'s `resid_pre` is at `sendersBefore(layer: l)`).
    let cleanInputs: [Int: Tensor]
    /// Upper bound on rows (examples × masks) per batched forward pass.
    public var maxRowsPerPass = 256

    /// Caches the clean and source runs.
    ///
    /// - Parameter metric: built from the clean logits at the read positions, e.g.
    ///   `{ MetricKind.kl.metric(answers:wrongs:reference: $0) }`.
    public init(model: TransformerModel, pairs: PromptPairs, source: Source = .corrupted,
                metric makeMetric: (_ cleanLogits: Tensor) -> Metric) throws {
        if let limitation = model.edgeGraphLimitation {
            throw CircuitError.invalidArgument("edge-level circuit discovery does not support this model: \(limitation)")
        }
        self.model = model
        self.pairs = pairs
        graph = ComputationGraph(model: model)
        let (cleanOutputs, cleanInputs, logits) = try Self.senderOutputs(model: model, batch: pairs.clean, graph: graph)
        cleanLogits = logits.reshaped([pairs.count, -1])
        metric = makeMetric(cleanLogits)
        // With the corrupted run as the source, patching every edge gives the corrupted run itself.
        var allPatchedLogits: Tensor?
        switch source {
        case .corrupted:
            let corrupted = try Self.senderOutputs(model: model, batch: pairs.corrupted, graph: graph)
            sourceOutputs = corrupted.outputs
            allPatchedLogits = corrupted.logits.reshaped([pairs.count, -1])
        case .zero:
            sourceOutputs = cleanOutputs.map { Tensor.zeros($0.shape) }
        case .mean(let reference):
            guard reference.length == pairs.length else {
                throw CircuitError.invalidArgument("the mean reference has \(reference.length) positions, the prompts \(pairs.length)")
            }
            sourceOutputs = try Self.senderOutputs(model: model, batch: reference, graph: graph).outputs
                .map { $0.mean(axis: 0, keepingDimension: true).broadcast(to: cleanOutputs[0].shape) }
        }
        let size = cleanOutputs[0].count
        let deltas = Self.stackedDifferences(sourceOutputs, cleanOutputs)
        senderDeltas = deltas
        // Running sums of the deltas give each receiver point's all-patched input.
        var patchedInputs: [Int: Tensor] = [:], deltaSum = Tensor.zeros(cleanOutputs[0].shape), summed = 0
        for upstream in cleanInputs.keys.sorted() {
            var sums = Tensor.WeightedSums(rows: 1, length: size)
            sums.add(.init(deltaSum), weights: [1])
            while summed < upstream {
                sums.add(.init(deltas, offset: summed * size), weights: [1])
                summed += 1
            }
            deltaSum = sums.result().reshaped(deltaSum.shape)
            patchedInputs[upstream] = cleanInputs[upstream]! + deltaSum
        }
        allPatchedInputs = patchedInputs
        self.cleanInputs = cleanInputs
        cleanValue = metric(cleanLogits).item
        corruptedValue = allPatchedLogits.map { metric($0).item } ?? metrics([.all(graph)])[0]
    }

    /// Convenience: a named metric kind compared with the clean run.
    public init(model: TransformerModel, pairs: PromptPairs, source: Source = .corrupted, metric kind: MetricKind) throws {
        try self.init(model: model, pairs: pairs, source: source) { clean in
            kind.metric(answers: pairs.answers, wrongs: pairs.wrongs, reference: clean)
        }
    }

    /// Every sender's output on `batch`, each receiver input point's residual (keyed by its upstream sender
    /// count: every block's `resid_pre` and `resid_mid`, and the final residual), and the logits at each
    /// example's last token (the read position: both prompts of a pair have the same length).
    static func senderOutputs(model: TransformerModel, batch: TokenBatch, graph: ComputationGraph) throws
        -> (outputs: [Tensor], receiverInputs: [Int: Tensor], logits: Tensor) {
        let (logits, cache) = try model.runWithCache(batch, filter: .matching { name in
            name.hasSuffix("hook_resid_pre") || name.hasSuffix("attn.hook_result") || name.hasSuffix("hook_mlp_out")
                || (graph.hasMLPs && name.hasSuffix("hook_resid_mid")) || name == "blocks.\(model.layerCount - 1).hook_resid_post"
        }, logitPositions: .last)
        var outputs = [try cache.activation("resid_pre", layer: 0)]
        for l in 0..<model.layerCount {
            let heads = try cache.activation("result", layer: l)
            outputs += (0..<graph.headCount).map { heads.select(axis: 2, $0) }
            if graph.hasMLPs { outputs.append(try cache.activation("mlp_out", layer: l)) }
        }
        var inputs = [graph.senders.count: try cache.activation("resid_post", layer: -1)]
        for l in 0..<model.layerCount {
            inputs[graph.sendersBefore(layer: l)] = try cache.activation("resid_pre", layer: l)
            if graph.hasMLPs { inputs[graph.sendersBefore(layer: l) + graph.headCount] = try cache.activation("resid_mid", layer: l) }
        }
        return (outputs, inputs, logits)
    }

    /// The metric with each mask's edges patched.
    public func metrics(_ masks: [EdgeMask]) -> [Float] {
        let perPass = Swift.max(1, maxRowsPerPass / pairs.count)
        var results: [Float] = []
        var start = 0
        while start < masks.count {
            let chunk = Array(masks[start..<Swift.min(start + perPass, masks.count)])
            let logits = patchedLogits(chunk)
            results += (0..<chunk.count).map { v in
                metric(logits.slice(axis: 0, (v * pairs.count)..<((v + 1) * pairs.count))).item
            }
            start += chunk.count
        }
        return results
    }

    /// `[masks * batch, vocab]` logits at the read positions with each mask's edges patched.
    public func patchedLogits(_ masks: [EdgeMask]) -> Tensor {
        let variants = masks.count, layers = model.layerCount
        let receivers = graph.receivers.count
        let firstLayer = (0..<layers).first { l in
            masks.contains { $0.selectsAny(into: receiverRange(layer: l), senders: 0..<graph.senders.count) }
        } ?? layers
        var deltas: [SenderDelta?] = (0..<graph.senders.count).map { s in
            s < graph.sendersBefore(layer: firstLayer) ? SenderDelta(baseDelta: s, of: self) : nil
        }
        let logitsReceiver = receivers - 1
        let hooks = ForwardHooks()
        for l in firstLayer..<layers {
            let headStart = graph.sendersBefore(layer: l)
            let names = BlockHookNames(layer: l)
            let (qRange, kRange, vRange, mlpIndex) = receiverGroups(layer: l)
            let attentionGroups = [(names.qInput, qRange), (names.kInput, kRange), (names.vInput, vRange)]
                .filter { _, range in masks.contains { $0.selectsAny(into: range, senders: 0..<headStart) } }
            if !attentionGroups.isEmpty {
                var residual = Tensor.zeros([0])
                hooks.add(names.residPre) { x, _ in
                    residual = x
                    return x
                }
                for (name, range) in attentionGroups {
                    hooks.add(name) { x, _ in
                        self.receiverInput(masks, deltas: deltas, receivers: range, senders: headStart, perHead: true,
                                           current: residual)
                    }
                }
            }
            hooks.add(names.result) { x, _ in
                for h in 0..<graph.headCount {
                    deltas[headStart + h] = SenderDelta(current: x.select(axis: 2, h), source: sourceOutputs[headStart + h],
                                                        variants: variants)
                }
                return x
            }
            if let mlpIndex {
                let upstream = headStart + graph.headCount
                if masks.contains(where: { $0.selectsAny(into: mlpIndex..<(mlpIndex + 1), senders: 0..<upstream) }) {
                    hooks.add(names.mlpIn) { x, _ in
                        self.receiverInput(masks, deltas: deltas, receivers: mlpIndex..<(mlpIndex + 1), senders: upstream,
                                           perHead: false, current: x)
                    }
                }
                hooks.add(names.mlpOut) { x, _ in
                    deltas[upstream] = SenderDelta(current: x, source: sourceOutputs[upstream], variants: variants)
                    return x
                }
            }
        }
        let readsLogits = masks.contains { $0.selectsAny(into: logitsReceiver..<receivers, senders: 0..<graph.senders.count) }
        let batch = pairs.clean.repeated(variants)
        var final = repeated(cleanInputs[graph.sendersBefore(layer: firstLayer)]!, variants)
        if firstLayer < layers {
            final = model.runBlocks(firstLayer..<layers, residual: final, context: AttentionContext(batch: batch), hooks: hooks)
        }
        if readsLogits {
            final = receiverInput(masks, deltas: deltas, receivers: logitsReceiver..<receivers,
                                  senders: graph.senders.count, perHead: false, current: final)
        }
        let logits = model.unembed(final.gather(positions: batch.lastPositions), hooks: nil)
        return logits.reshaped([variants * pairs.count, -1])
    }

    /// The receiver-index ranges of block `layer`: queries, keys, values, and the MLP (if any).
    func receiverGroups(layer: Int) -> (Range<Int>, Range<Int>, Range<Int>, Int?) {
        let q = graph.index(of: .query(layer: layer, head: 0))
        let k = q + graph.headCount, v = k + graph.keyValueHeadCount, end = v + graph.keyValueHeadCount
        return (q..<k, k..<v, v..<end, graph.hasMLPs ? end : nil)
    }

    func receiverRange(layer: Int) -> Range<Int> {
        let (q, _, v, mlp) = receiverGroups(layer: layer)
        return q.lowerBound..<(mlp.map { $0 + 1 } ?? v.upperBound)
    }

    /// The inputs of the receivers `receivers` (one group: a block's queries, keys or values, its MLP, or the
    /// logits), whose senders are `0..<senders`, for every variant: `[variants * batch, pos, receivers, d]` when
    /// `perHead`, else `[variants * batch, pos, d]`. `current` is the residual stream the group reads in this
    /// run, `[variants * batch, pos, d]`.
    ///
    /// A receiver's input is the sum of its senders' outputs, so it is computed from whichever side needs
    /// fewer deltas: `current + Σ_{patched s} delta_s`, or ``allPatchedInputs`` `− Σ_{unpatched s} delta_s`
    /// (ACDC's receivers are mostly patched once visited). The vectors are read in place by one weighted-sum
    /// kernel; those with one weight for every receiver are summed once, and zero weights cost nothing.
    func receiverInput(_ masks: [EdgeMask], deltas: [SenderDelta?], receivers: Range<Int>, senders: Int, perHead: Bool,
                       current: Tensor) -> Tensor {
        let size = pairs.count * pairs.length * model.dModel, rows = receivers.count
        let allPatched = allPatchedInputs[senders]!
        let perVariant = (0..<masks.count).map { v in
            let mask = masks[v]
            // Per receiver: whether it starts from the all-patched input (fewer unpatched than patched senders).
            let fromAllPatched = receivers.map { r in
                let patched = (0..<senders).reduce(0) { $0 + (mask[$1, r] != 0 ? 1 : 0) }
                return senders - patched < patched
            }
            var mix = Tensor.WeightedSums(rows: rows, length: size)
            mix.add(Tensor.VectorView(current, offset: v * size), weights: fromAllPatched.map { $0 ? 0 : 1 })
            mix.add(Tensor.VectorView(allPatched), weights: fromAllPatched.map { $0 ? 1 : 0 })
            for s in 0..<senders {
                let delta = deltas[s]!
                let weights = zip(receivers, fromAllPatched).map { r, fromPatched in
                    (fromPatched ? mask[s, r] - 1 : mask[s, r]) * delta.sign
                }
                mix.add(Tensor.VectorView(delta.values, offset: delta.offset + (delta.perVariant ? v * size : 0)), weights: weights)
            }
            return mix.result(interleaving: perHead ? model.dModel : nil)
        }
        let mixed = masks.count == 1 ? perVariant[0] : Tensor.concatenate(perVariant.map { $0.reshaped([-1]) }, axis: 0)
        return mixed.reshaped(perHead ? [masks.count * pairs.count, pairs.length, rows, model.dModel] : current.shape)
    }

    func repeated(_ tensor: Tensor, _ times: Int) -> Tensor {
        times == 1 ? tensor : Tensor.concatenate(Array(repeating: tensor, count: times), axis: 0)
    }
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
}

extension EdgePatching {
    /// Row `s` of the result: `a[s] − b[s]`, for tensors of one element count.
    static func stackedDifferences(_ a: [Tensor], _ b: [Tensor]) -> Tensor {
        let size = a[0].count
        return Tensor.build(shape: [a.count, size]) { out in
            let base = out.baseAddress!
            Parallel.forEach(a.count) { s in
                a[s].scalars.withUnsafeBufferPointer { x in
                    b[s].scalars.withUnsafeBufferPointer { y in
                        let row = base + s * size
                        for i in 0..<size { row[i] = x[i] - y[i] }
                    }
                }
            }
        }
    }

    /// Sender `s`'s source output − clean output, `[batch·pos·dModel]`, read in place.
    func baseDelta(_ s: Int) -> Tensor.VectorView { .init(senderDeltas, offset: s * senderDeltas.shape[1]) }
}
