import LanguageModels
import Tensors

/// Edge patching that follows a graph losing edges one at a time, as ACDC does: the outputs of the nodes
/// that differ from the clean run are kept, and testing one more patched edge recomputes only the nodes it
/// reaches through the edges that remain (one head or MLP at a time), then the logits.
///
/// A receiver's input is computed from whichever side needs fewer terms: the clean input plus the patched
/// senders' deltas (when every unpatched sender is clean), or the all-patched input plus, for each unpatched
/// sender, its current output minus its source output. Late in ACDC most edges are patched, so a test
/// costs a few node computations instead of the blocks after the receiver.
struct IncrementalPatching {
    let patching: EdgePatching
    /// The patched (removed) edges of the current graph.
    private(set) var removed: EdgeMask
    /// The current output `[batch, pos, d]` of every node whose output differs from the clean run's, because
    /// one of its inputs has a patched edge or reads such a node.
    private(set) var changedOutputs: [Int: Tensor] = [:]
    private let context: AttentionContext
    private let attentionMasks: [Int?: Tensor]

    /// The current graph with the edges of `removed` patched; nodes affected by them are computed here.
    init(_ patching: EdgePatching, removed: EdgeMask) {
        self.patching = patching
        self.removed = removed
        let context = AttentionContext(batch: patching.pairs.clean)
        self.context = context
        let windows = Set(patching.model.blocks.map(\.attention.slidingWindow))
        attentionMasks = Dictionary(uniqueKeysWithValues: windows.map { ($0, context.additiveMask(slidingWindow: $0)) })
        let graph = patching.graph
        var inputs: [Int: Tensor] = [:]
        for node in 1..<graph.senders.count {
            let receivers = graph.inputs(of: graph.senders[node]).map { graph.index(of: $0) }
            let affected = receivers.contains { r in
                (0..<graph.upstreamCount(of: r)).contains { s in removed[s, r] != 0 || changedOutputs[s] != nil }
            }
            if affected { changedOutputs[node] = output(of: node, removed: removed, changed: changedOutputs, inputs: &inputs) }
        }
    }

    /// The metric with the edge `sender → receiver` also patched, and the outputs that would change.
    func test(sender: Int, receiver: Int) -> (value: Float, outputs: [Int: Tensor]) {
        let graph = patching.graph
        var candidate = removed
        candidate[sender, receiver] = 1
        var changed = changedOutputs
        var recomputed: [Int: Tensor] = [:], inputs: [Int: Tensor] = [:]
        var pending = Set(graph.nodes(reading: graph.receivers[receiver]).map { graph.index(of: $0) })
        while let node = pending.min() {
            pending.remove(node)
            let value = output(of: node, removed: candidate, changed: changed, inputs: &inputs)
            changed[node] = value
            recomputed[node] = value
            for r in graph.receivers.indices where graph.upstreamCount(of: r) > node && candidate[node, r] == 0 {
                pending.formUnion(graph.nodes(reading: graph.receivers[r]).map { graph.index(of: $0) })
            }
        }
        let logits = graph.receivers.count - 1
        let final = input(of: logits, removed: candidate, changed: changed)
        let read = patching.model.unembed(final.gather(positions: patching.pairs.readPositions), hooks: nil)
        return (patching.metric(read.reshaped([patching.pairs.count, -1])).item, recomputed)
    }

    /// Makes a tested edge part of the graph's patched edges, with the outputs its test computed.
    mutating func remove(sender: Int, receiver: Int, outputs: [Int: Tensor]) {
        removed[sender, receiver] = 1
        changedOutputs.merge(outputs) { $1 }
    }

    /// Patches an edge into a node that nothing reads any more (its output is never needed again).
    mutating func removeUnread(sender: Int, receiver: Int) {
        removed[sender, receiver] = 1
    }

    /// A node's output with `removed` patched and the changed outputs `changed`. Nodes are computed in order,
    /// so a receiver's input is final once computed: `inputs` keeps them for the next node that reads the same
    /// receiver (the query heads sharing a key-value head).
    private func output(of node: Int, removed: EdgeMask, changed: [Int: Tensor], inputs memo: inout [Int: Tensor]) -> Tensor {
        let graph = patching.graph, model = patching.model
        let inputs = graph.inputs(of: graph.senders[node]).map { receiver in
            let r = graph.index(of: receiver)
            if let known = memo[r] { return known }
            let value = input(of: r, removed: removed, changed: changed)
            memo[r] = value
            return value
        }
        switch graph.senders[node] {
        case .input:
            preconditionFailure("the input node has no inputs to patch")
        case let .head(l, h):
            let block = model.blocks[l]
            return block.headResult(h, queryInput: inputs[0], keyInput: inputs[1], valueInput: inputs[2], context: context,
                                    mask: attentionMasks[block.attention.slidingWindow]!)
        case let .mlp(l):
            return model.blocks[l].mlpOutput(inputs[0])!
        }
    }

    /// Receiver `r`'s input `[batch, pos, d]` with `removed` patched and the changed outputs `changed`.
    private func input(of r: Int, removed: EdgeMask, changed: [Int: Tensor]) -> Tensor {
        let upstream = patching.graph.upstreamCount(of: r)
        let pairs = patching.pairs
        let unpatched = (0..<upstream).filter { removed[$0, r] == 0 }
        var sums = Tensor.WeightedSums(rows: 1, length: pairs.count * pairs.length * patching.model.dModel)
        if unpatched.count <= upstream - unpatched.count || unpatched.contains(where: { changed[$0] != nil }) {
            // All-patched input + Σ over unpatched senders of (current − source) output.
            sums.add(.init(patching.allPatchedInput(of: r)), weights: [1])
            for s in unpatched {
                if let current = changed[s] {
                    sums.add(.init(current), weights: [1])
                    sums.add(.init(patching.sourceOutputs[s]), weights: [-1])
                } else {
                    sums.add(patching.baseDelta(s), weights: [-1])
                }
            }
        } else {
            // Clean input + Σ over patched senders of (source − clean) output; every unpatched sender is clean.
            sums.add(.init(patching.cleanInput(of: r)), weights: [1])
            for s in 0..<upstream where removed[s, r] != 0 { sums.add(patching.baseDelta(s), weights: [1]) }
        }
        return sums.result().reshaped([pairs.count, pairs.length, patching.model.dModel])
    }
}
