import Foundation
import LanguageModels
import Tensors

/// The senders' outputs in one run (the patch source's, or the clean run's while the deltas are formed),
/// `[batch, pos, dModel]` each, indexed like ``ComputationGraph/senders``.
///
/// Held as tensors, or — when they would take more than ``EdgePatching/sourceByteLimit`` — with each layer's heads
/// kept as that layer's `hook_z` (`[batch, pos, heads, dHead]`, `dModel / dHead` times smaller) and, behind a
/// post-attention norm, its divisor: a layer's head outputs are then recomputed when read, by the very operations
/// the forward pass uses (`z · W_O` per head, then ``TransformerBlock/headSenderOutputs(results:postNormDivisor:)``),
/// so they equal the stored ones bit for bit. The last layer recomputed is kept, so reading a layer's heads in
/// order costs one recomputation.
final class SenderSources: RandomAccessCollection, @unchecked Sendable {
    /// A layer's heads in compact form.
    struct HeadLayer {
        let layer: Int
        /// The graph index of the layer's first head.
        let firstSender: Int
        let z: Tensor
        let postNormDivisor: Tensor?
    }

    private let model: TransformerModel
    /// Every sender's output, nil for the heads of ``headLayers``.
    private let stored: [Tensor?]
    private let headLayers: [HeadLayer]
    private let lock = NSLock()
    private var recent: (layer: Int, outputs: Tensor)?

    init(model: TransformerModel, stored: [Tensor?], headLayers: [HeadLayer]) {
        self.model = model
        self.stored = stored
        self.headLayers = headLayers
    }

    /// Sources held as tensors.
    convenience init(model: TransformerModel, _ outputs: [Tensor]) {
        self.init(model: model, stored: outputs, headLayers: [])
    }

    var startIndex: Int { 0 }
    var endIndex: Int { stored.count }

    subscript(sender: Int) -> Tensor {
        if let tensor = stored[sender] { return tensor }
        let layer = headLayers.last { $0.firstSender <= sender }!
        return headOutputs(layer).select(axis: 2, sender - layer.firstSender)
    }

    /// The source `hook_z` of layer `layer`'s heads when they are kept compact, else nil.
    func compactZ(layer: Int) -> Tensor? {
        headLayers.first { $0.layer == layer }?.z
    }

    /// `[batch, pos, heads, dModel]`: the outputs of a compact layer's heads.
    private func headOutputs(_ layer: HeadLayer) -> Tensor {
        lock.lock()
        defer { lock.unlock() }
        if let recent, recent.layer == layer.layer { return recent.outputs }
        let block = model.blocks[layer.layer]
        let outputs = block.headSenderOutputs(results: block.attention.headResults(layer.z), postNormDivisor: layer.postNormDivisor)
        recent = (layer.layer, outputs)
        return outputs
    }
}

extension EdgePatching {
    /// Above this many bytes of sender outputs, the patch source's head outputs are kept compact (each layer's
    /// `hook_z`, see ``SenderSources``): 256 MB by default; 0 always keeps them compact.
    nonisolated(unsafe) public static var sourceByteLimit = 256 << 20

    /// The bytes of head output differences a patched pass with compact sources keeps for its later receivers
    /// instead of recomputing them through W_O for each receiver group (see ``HeadZDeltas``): 256 MB by default;
    /// 0 recomputes every one. The results are the same either way.
    nonisolated(unsafe) public static var keptHeadDifferenceByteLimit = 256 << 20

    /// The senders' outputs on `batch`, like ``senderOutputs(model:batch:graph:)``, compact when they would take
    /// more than ``sourceByteLimit`` bytes, with the residual at each point a receiver reads and the logits at
    /// each example's last token.
    static func sourceOutputs(model: TransformerModel, batch: TokenBatch, graph: ComputationGraph) throws
        -> (outputs: SenderSources, receiverInputs: [HookPoint: Tensor], logits: Tensor) {
        let bytes = graph.senders.count * batch.batchSize * batch.length * model.dModel * MemoryLayout<Float>.size
        guard bytes > sourceByteLimit else {
            let run = try senderOutputs(model: model, batch: batch, graph: graph)
            return (SenderSources(model: model, run.outputs), run.receiverInputs, run.logits)
        }
        let readPoints = graph.readPoints.map(\.point)
        var points: [HookPoint] = readPoints + [.residPre(0)]
        for (l, block) in model.blocks.enumerated() {
            points += [.z(l)] + (block.headsShareNorm ? [.ln1PostScale(l)] : []) + (graph.hasMLPs ? [.mlpOut(l)] : [])
        }
        // The per-head results are hooked (not kept) so that the pass computes the attention outputs as
        // ``senderOutputs(model:batch:graph:)``'s pass does: from the heads' results.
        let keep: HookFunction = { result, _ in result }
        let trace = try model.trace(batch, cache: .points(Array(Set(points))), hooks: (0..<model.layerCount).map { (HookPoint.result($0).name, keep) },
                                    logitPositions: .last)
        let (logits, cache) = (trace.logits, trace.activations)
        var stored: [Tensor?] = [try cache[.residPre(0)]]
        var layers: [SenderSources.HeadLayer] = []
        for (l, block) in model.blocks.enumerated() {
            layers.append(.init(layer: l, firstSender: stored.count, z: try cache[.z(l)],
                                postNormDivisor: block.headsShareNorm ? try cache[.ln1PostScale(l)] : nil))
            stored += [Tensor?](repeating: nil, count: graph.headCount)
            if graph.hasMLPs { stored.append(try cache[.mlpOut(l)]) }
        }
        var inputs: [HookPoint: Tensor] = [:]
        for point in readPoints { inputs[point] = try cache[point] }
        return (SenderSources(model: model, stored: stored, headLayers: layers), inputs, logits)
    }
}

extension EdgePatching {
    /// Throws when the senders' outputs edge patching keeps — the deltas, a patched pass's own deltas, and the
    /// stored clean and source outputs unless compact (see ``sourceByteLimit``) — would exceed
    /// ``ActivationCache/defaultByteLimit`` (the budget `--memory-limit` leaves after the weights), naming both.
    /// A compact pass holds the heads of layers without a post-attention norm in z space (``HeadZDeltas``).
    static func checkBudget(model: TransformerModel, pairs: PromptPairs, graph: ComputationGraph) throws {
        let perSender = pairs.count * pairs.length * model.dModel * MemoryLayout<Float>.size
        let outputs = graph.senders.count * perSender
        let compact = outputs > sourceByteLimit
        // A layer's heads in z space take about one sender's output (heads · dHead = dModel) instead of one per head.
        let layersInZ = compact ? model.blocks.filter { !$0.headsShareNorm }.count : 0
        let passDeltas = (graph.senders.count - layersInZ * (graph.headCount - 1)) * perSender
        let needed = outputs + passDeltas + (compact ? 0 : outputs)
        let budget = ActivationCache.defaultByteLimit
        guard needed > budget else { return }
        func gigabytes(_ bytes: Int) -> String { String(format: "%.2f GB", Double(bytes) / 1e9) }
        throw CircuitError.invalidArgument("edge patching of \(pairs.count) prompt pairs of \(pairs.length) tokens needs about "
            + "\(gigabytes(needed)) for the outputs of \(graph.senders.count) senders, over the activation budget of "
            + "\(gigabytes(budget)) (--memory-limit minus the weights): use fewer or shorter prompts, or raise the limit")
    }
}
