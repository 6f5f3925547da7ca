import LanguageModels
import Tensors

/// Patched runs of the clean prompts that each patch one edge, for exact edge scores: such a run differs from
/// the clean run only from the edge's receiver on, so only that part is computed.
///
/// For an edge `s → r` into block `l`, everything before `r` is the clean run's: `r`'s input is its clean input
/// plus `s`'s patch delta (at the edge's position bucket only, in a position-aware graph). In block `l` only
/// `r`'s node is recomputed — one head for a query, the heads reading the key-value head for a key or value, the
/// MLP — and the block's other nodes keep their clean outputs (a post-attention norm is applied to the changed
/// sum of the heads). The blocks after `l` then run as usual, except the last one: its keys and values are
/// computed at every position, but only the read positions are queried and go through its MLP (in block `l`
/// itself when it is the last); the logits are read there, only the ones the metric reads
/// (``EdgePatching/variantMetrics(read:variants:)``).
///
/// Token positions before the first one at which any patch delta is nonzero (for edges at one position bucket,
/// before the bucket's first token) are the clean run's in all these runs: block `l` computes only the later
/// positions, and the blocks after it resume from a key-value cache of the clean prompts' prefix.
///
/// Many edges into one block run in one pass, as variants along the batch axis; edges into one receiver share
/// its clean inputs.
struct SingleEdgeRuns {
    /// One edge: indices into the graph's senders and receivers, and its position bucket (0 in a plain graph).
    struct Edge: Equatable {
        let sender: Int, receiver: Int, position: Int
    }

    let patching: EdgePatching
    /// Per block, on the clean prompts: the residual stream before it, its attention's output (`hook_attn_out`),
    /// each head's result `[batch, pos, heads, d]`, its MLP's output (nil without MLPs).
    private let residPre: [Tensor], attentionOutputs: [Tensor], headResults: [Tensor], mlpOutputs: [Tensor?]
    /// The clean final residual stream at the read positions, `[batch, 1, d]`.
    private let finalResidual: Tensor
    /// The first token position at which some sender's patch delta is nonzero in some example.
    private let firstChanged: Int
    /// Per position bucket, the first token position of the bucket in any example.
    private let firstOfBucket: [Int]
    /// Per sender and position bucket, whether the sender's patch delta is nonzero at some token of the bucket.
    private let changesBucket: [[Bool]]
    /// Clean key-value caches of the prompts' first `n` tokens, by `n`.
    private var prefixCaches: [Int: KeyValueCache] = [:]

    init(_ patching: EdgePatching) throws {
        self.patching = patching
        let model = patching.model, layers = model.layerCount, pairs = patching.pairs
        let points = (0..<layers).flatMap { l in [HookPoint.attnOut(l), .result(l)] + (model.hasMLPs ? [.mlpOut(l)] : []) }
        let (_, cache) = try model.runWithCache(pairs.clean, filter: .points(points), logitPositions: .last)
        residPre = (0..<layers).map { patching.cleanInputs[.residPre($0)]! }
        attentionOutputs = try (0..<layers).map { try cache[.attnOut($0)] }
        headResults = try (0..<layers).map { try cache[.result($0)] }
        mlpOutputs = try (0..<layers).map { model.hasMLPs ? try cache[.mlpOut($0)] : nil }
        finalResidual = patching.cleanInputs[.residPost(layers - 1)]!.gather(positions: pairs.readPositions)
        firstChanged = Self.firstNonzeroPosition(patching.senderDeltas, examples: pairs.count, length: pairs.length,
                                                 width: model.dModel)
        changesBucket = Self.nonzeroBuckets(patching.senderDeltas, examples: pairs.count, length: pairs.length, width: model.dModel,
                                            buckets: patching.positionBuckets?.assignment, bucketCount: patching.graph.positionCount)
        firstOfBucket = (0..<patching.graph.positionCount).map { b in
            patching.positionBuckets.map { $0.assignment.compactMap { $0.firstIndex(of: b) }.min() ?? pairs.length } ?? 0
        }
    }

    /// Whether patching the edge changes its receiver's input at all (else its run is the clean run).
    func changes(_ edge: Edge) -> Bool { changesBucket[edge.sender][edge.position] }

    /// The metric with each edge alone patched, for edges into block `layer` (`layerCount`: into the logits), in
    /// one batched pass.
    mutating func metrics(_ edges: [Edge], layer: Int) -> [Float] {
        let model = patching.model, variants = edges.count
        guard layer < model.layerCount else { return metrics(read: logitsInputs(edges), variants: variants) }
        let start = resumePosition(edges)
        let last = model.layerCount - 1
        var outputs: [Tensor] = [], first = 0
        while first < edges.count {
            var end = first + 1
            while end < edges.count && edges[end].receiver == edges[first].receiver { end += 1 }
            outputs.append(blockOutput(Array(edges[first..<end]), layer: layer, from: start, readOnly: layer == last))
            first = end
        }
        let residual = outputs.count == 1 ? outputs[0] : Tensor.concatenate(outputs, axis: 0)
        guard layer < last else { return metrics(read: residual, variants: variants) }
        let (context, cache) = resumedContext(variants: variants, from: start)
        let beforeLast = layer + 1 < last
            ? model.runBlocks((layer + 1)..<last, residual: residual, context: context, hooks: nil, cache: cache) : residual
        let block = model.blocks[last]
        let read = block.output(atRows: readRows(variants: variants, from: start), residual: beforeLast, context: context,
                                mask: context.additiveMask(slidingWindow: block.attention.slidingWindow),
                                cache: cache?.layers[last] ?? nil)
        return metrics(read: read, variants: variants)
    }

    /// Each variant's read positions counted from token `start`, variants one after another.
    private func readRows(variants: Int, from start: Int) -> [Int] {
        Array(Array(repeating: patching.pairs.readPositions.map { $0 - start }, count: variants).joined())
    }

    /// The first token position that differs from the clean run in some run of `edges`: the first changed
    /// position, or the first token of the edges' buckets if later; never after a read position.
    private func resumePosition(_ edges: [Edge]) -> Int {
        let bucketStart = patching.positionBuckets == nil ? 0 : edges.map { firstOfBucket[$0.position] }.min()!
        return Swift.min(Swift.max(firstChanged, bucketStart), patching.pairs.readPositions.min()!)
    }

    /// The residual stream after block `layer` from token `start` on, `[variants·batch, pos − start, d]`, for
    /// edges into one receiver of the block; with `readOnly` (the last block) at the read positions only,
    /// `[variants·batch, 1, d]`: the MLP then runs on those rows alone.
    private func blockOutput(_ edges: [Edge], layer: Int, from start: Int, readOnly: Bool) -> Tensor {
        let block = patching.model.blocks[layer], pairs = patching.pairs, variants = edges.count
        func later(_ x: Tensor) -> Tensor { start == 0 ? x : x.slice(axis: 1, start..<pairs.length) }
        func repeated(_ x: Tensor) -> Tensor { later(x).repeatedAlongBatch(variants) }
        let rows = readRows(variants: variants, from: start)
        func kept(_ x: Tensor) -> Tensor { readOnly ? x.gather(positions: rows) : x }
        let patched = patchedInputs(edges)
        let pre = repeated(residPre[layer])
        let heads: [Int], inputs: (query: Tensor, key: Tensor, value: Tensor)
        let clean = residPre[layer].repeatedAlongBatch(variants)
        switch patching.graph.receivers[edges[0].receiver] {
        case .mlp:
            return kept(pre) + kept(repeated(attentionOutputs[layer])) + block.mlpOutput(kept(later(patched)))!
        case let .query(_, h):
            (heads, inputs) = ([h], (patched, clean, clean))
        case let .key(_, g):
            (heads, inputs) = (Array(patching.graph.grouping.queryHeads(of: g)), (clean, patched, clean))
        case let .value(_, g):
            (heads, inputs) = (Array(patching.graph.grouping.queryHeads(of: g)), (clean, clean, patched))
        case .logits:
            preconditionFailure("edges into the logits enter no block")
        }
        let context = AttentionContext(batch: pairs.clean.repeated(variants))
        let mask = context.additiveMask(slidingWindow: block.attention.slidingWindow)
        // The heads' results change; every other head keeps its clean result.
        var change: Tensor?
        for h in heads {
            let result = block.headResult(h, queryInput: inputs.query, keyInput: inputs.key, valueInput: inputs.value,
                                          context: context, mask: mask)
            let difference = later(result) - repeated(headResults[layer].select(axis: 2, h))
            change = change.map { $0 + difference } ?? difference
        }
        let attention: Tensor
        if let norm = block.postAttentionNorm {
            let summed = headResults[layer].sum(axis: 2)
            let unnormalized = repeated(block.attention.output.bias.map { summed + $0 } ?? summed) + change!
            attention = norm(unnormalized, hooks: nil, scaleName: block.names.ln1PostScale, normalizedName: block.names.ln1PostNormalized)
        } else {
            attention = repeated(attentionOutputs[layer]) + change!
        }
        let mid = kept(pre + attention)
        if block.parallelResidual { return mid + kept(repeated(mlpOutputs[layer]!)) }
        return block.mlpOutput(mid).map { mid + $0 } ?? mid
    }

    /// The receiver's input in each edge's run, `[variants·batch, pos, d]`: its clean input plus the edge's
    /// sender's patch delta (at the edge's bucket's positions in a position-aware graph).
    private func patchedInputs(_ edges: [Edge]) -> Tensor {
        let pairs = patching.pairs, d = patching.model.dModel, variants = edges.count
        var sums = Tensor.WeightedSums(rows: variants, length: pairs.count * pairs.length * d)
        sums.add(.init(patching.cleanInput(of: edges[0].receiver)), weights: Array(repeating: 1, count: variants))
        for (i, edge) in edges.enumerated() {
            var weights = [Float](repeating: 0, count: variants)
            weights[i] = 1
            if let buckets = patching.positionBuckets {
                let delta = patching.senderDeltas.select(axis: 0, edge.sender).reshaped([pairs.count, pairs.length, d])
                sums.add(.init(delta * buckets.indicator(where: { $0 == edge.position })), weights: weights)
            } else {
                sums.add(patching.baseDelta(edge.sender), weights: weights)
            }
        }
        return sums.result().reshaped([variants * pairs.count, pairs.length, d])
    }

    /// The logits' input at the read positions in each edge's run, `[variants·batch, 1, d]`.
    private func logitsInputs(_ edges: [Edge]) -> Tensor {
        let pairs = patching.pairs, d = patching.model.dModel
        let inputs = edges.map { edge -> Tensor in
            var delta = patching.senderDeltas.select(axis: 0, edge.sender).reshaped([pairs.count, pairs.length, d])
                .gather(positions: pairs.readPositions)
            if let buckets = patching.positionBuckets {
                delta = delta * buckets.indicator(where: { $0 == edge.position }, at: pairs.readPositions)
            }
            return finalResidual + delta
        }
        return inputs.count == 1 ? inputs[0] : Tensor.concatenate(inputs, axis: 0)
    }

    /// The attention context of the tokens from `start` on, repeated once per variant, and the clean key-value
    /// cache of the tokens before (nil from the first token).
    private mutating func resumedContext(variants: Int, from start: Int) -> (AttentionContext, KeyValueCache?) {
        let clean = patching.pairs.clean
        let later = clean.slice(positions: start..<clean.length).repeated(variants)
        guard start > 0 else { return (AttentionContext(batch: later), nil) }
        let cache = prefixCache(length: start).repeatedAlongBatch(variants)
        return (AttentionContext(batch: later, pastMask: cache.mask, pastPositions: cache.nextPositions), cache)
    }

    /// The clean prompts' key-value cache after their first `length` tokens.
    private mutating func prefixCache(length: Int) -> KeyValueCache {
        if let known = prefixCaches[length] { return known }
        let cache = patching.model.keyValueCache(of: patching.pairs.clean.slice(positions: 0..<length))
        prefixCaches[length] = cache
        return cache
    }

    /// The metric of each variant from the final residual stream at the read positions, `[variants·batch, 1, d]`.
    private func metrics(read: Tensor, variants: Int) -> [Float] { patching.variantMetrics(read: read, variants: variants) }

    /// Per row of `deltas` (`[senders, examples·length·width]`) and position bucket, whether the row is nonzero at
    /// some token of the bucket (`buckets[example][position]`; one bucket of every token without buckets).
    private static func nonzeroBuckets(_ deltas: Tensor, examples: Int, length: Int, width: Int, buckets: [[Int]]?,
                                       bucketCount: Int) -> [[Bool]] {
        let scalars = deltas.scalars, senderSize = examples * length * width
        return (0..<deltas.shape[0]).map { s in
            var nonzero = [Bool](repeating: false, count: bucketCount)
            for e in 0..<examples {
                for p in 0..<length {
                    let bucket = buckets?[e][p] ?? 0, start = s * senderSize + (e * length + p) * width
                    if !nonzero[bucket] && scalars[start..<(start + width)].contains(where: { $0 != 0 }) { nonzero[bucket] = true }
                }
            }
            return nonzero
        }
    }

    /// The first token position at which some row of `deltas` (`[senders, examples·length·width]`) is nonzero
    /// in some example; `length` if none is.
    static func firstNonzeroPosition(_ deltas: Tensor, examples: Int, length: Int, width: Int) -> Int {
        let scalars = deltas.scalars, senderSize = examples * length * width
        var first = length
        for s in 0..<deltas.shape[0] {
            for e in 0..<examples {
                for p in 0..<first {
                    let start = s * senderSize + (e * length + p) * width
                    if scalars[start..<(start + width)].contains(where: { $0 != 0 }) {
                        first = p
                        break
                    }
                }
            }
        }
        return first
    }
}
