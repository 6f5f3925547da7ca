import LanguageModels
import Tensors

/// Edge patching that follows a graph losing edges, as ACDC does: the outputs of the nodes that differ from
/// the clean run and the current inputs of the receivers are kept, and a test recomputes only the nodes the
/// tested edges reach through the edges that remain (an MLP alone; the heads of a layer together, behind a
/// post-attention norm all of them since they share its divisor, else those reached, one attention pass per
/// key-value head), then the logits at the read positions.
///
/// A node is recomputed only where its inputs changed (``ChangedPositions``): an MLP at the changed positions, a
/// head in the rows with a changed query, key or value position that reaches a query up to the read position;
/// its output elsewhere stays the current one. A corrupted prompt that differs from the clean one late (IOI's
/// second subject) changes few positions, and nothing after a row's read position is ever recomputed.
///
/// A test is batched: it patches, one after another, several edges into one receiver, and evaluates every
/// prefix at once (variant i = the current graph with the first i + 1 edges also patched). Every variant
/// patches the same receiver, so the same nodes are visited for all of them, in passes of
/// `variants × batch` rows, and each row's changed positions are its own. Committing variant j keeps its node
/// outputs and receiver inputs; each update is the same arithmetic whatever the batch size, except that a
/// product's last bits depend on whether its row count is above the GEMM's row-dot bound (``GEMM/sameResults(rows:otherRows:)``),
/// so batched and one-at-a-time runs agree to about 1e-7 and make the same decisions unless an effect is that
/// close to τ.
///
/// In a position-aware graph an edge is tested at one position bucket (its delta added at that bucket's token
/// positions only); a node counts as read, and an edge as remaining, when it is at some position.
struct IncrementalPatching {
    let patching: EdgePatching
    /// The patched (removed) edges of the current graph.
    private(set) var removed: EdgeMask
    /// For every node whose output differs from the clean run's (one of its inputs has a patched edge or reads
    /// such a node), its current output minus its source output, `[batch, pos, d]`. Nodes nothing reads any
    /// more may be stale, and so may every node after a row's read position.
    private(set) var changedOffsets: [Int: Tensor] = [:]
    /// The current input `[batch, pos, d]` of receivers computed so far, kept up to date on every commit.
    private var receiverInputs: [Int: Tensor] = [:]
    /// The logits' current input at the read positions, `[batch, 1, d]`.
    private var readInput: Tensor
    /// Per sender: its source output, and its source output minus its clean output, at the read positions
    /// `[batch, 1, d]`.
    private let readSources: [Tensor], readBaseDeltas: [Tensor]
    /// The logits' input with every edge patched, at the read positions.
    private let readAllPatched: Tensor

    /// The current graph with the edges of `removed` patched; nodes affected by them are computed here (at
    /// every position up to the read positions).
    init(_ patching: EdgePatching, removed: EdgeMask) {
        self.patching = patching
        self.removed = removed
        let positions = patching.pairs.readPositions
        readSources = patching.sourceOutputs.map { $0.gather(positions: positions) }
        readBaseDeltas = patching.sourceOutputs.indices.map { Self.baseDelta($0, of: patching).gather(positions: positions) }
        readInput = Tensor.zeros([0])
        let graph = patching.graph
        readAllPatched = patching.allPatchedInput(of: graph.receivers.count - 1).gather(positions: positions)
        func affected(_ node: Int) -> Bool {
            graph.inputs(of: graph.senders[node]).map { graph.index(of: $0) }.contains { r in
                (0..<graph.upstreamCount(of: r)).contains { s in removed.selectsAnyPosition(sender: s, receiver: r) || changedOffsets[s] != nil }
            }
        }
        let everywhere = ChangedPositions(rows: patching.pairs.count, length: patching.pairs.length, everywhere: true).upToRead(positions)
        for node in 1..<graph.senders.count {
            let coupled = patching.coupledNodes(of: node)
            // Heads sharing a post-attention norm are computed together, when the first of them comes.
            guard node == coupled.lowerBound, coupled.contains(where: affected) else { continue }
            var inputs: [[Tensor]] = []
            for n in coupled {
                var values: [Tensor] = []
                for receiver in graph.inputs(of: graph.senders[n]) { values.append(baseInput(graph.index(of: receiver))) }
                inputs.append(values)
            }
            let nodes = Array(coupled)
            for (n, value) in zip(nodes, offsets(of: nodes, inputs: inputs, changed: nodes.map { _ in everywhere }, variants: 1)) {
                changedOffsets[n] = value
            }
        }
        readInput = fullInput(of: graph.receivers.count - 1).gather(positions: positions)
    }

    /// The outcome of a batched test: the metric of each variant, and what committing one of them keeps.
    struct Trial {
        let receiver: Int
        /// The tested edges in order, as slots `sender · positions + position`; variant i patches the first i + 1.
        let slots: [Int]
        let values: [Float]
        /// `[variants·batch, pos, d]`: the inputs of the receivers computed, and the output − source output of the
        /// nodes recomputed.
        fileprivate let inputs: [Int: Tensor], offsets: [Int: Tensor]
        /// `[variants·batch, 1, d]`: the logits' input at the read positions.
        fileprivate let readInputs: Tensor

        /// The bytes of the tensors the trial holds (its cost follows them; see ``ACDCBatchSize``).
        var bytes: Int {
            (inputs.values.map(\.count).reduce(0, +) + offsets.values.map(\.count).reduce(0, +) + readInputs.count)
                * MemoryLayout<Float>.stride
        }
    }

    /// The metric with the edges `slots[0...i] → receiver` also patched, for every i (one batched pass); a slot
    /// is `sender · positions + position` (the sender itself in a plain graph).
    mutating func test(slots: [Int], receiver r: Int) -> Trial {
        let graph = patching.graph, variants = slots.count, logits = graph.receivers.count - 1, positions = graph.positionCount
        let pairs = patching.pairs
        // The tested receiver's input per variant: the current input plus, edge after edge, source − current;
        // it changes where one of these deltas is nonzero.
        var step = r == logits ? readInput : baseInput(r)
        var prefixes: [Tensor] = [], prefixChanges: [ChangedPositions] = []
        var changedSoFar = ChangedPositions(rows: pairs.count, length: r == logits ? 1 : pairs.length)
        for slot in slots {
            let s = slot / positions
            var change = r == logits ? readDelta(s) : delta(s)
            if let buckets = patching.positionBuckets {
                let atBucket = { $0 == slot % positions }
                change = change * (r == logits ? buckets.indicator(where: atBucket, at: pairs.readPositions)
                                               : buckets.indicator(where: atBucket))
            }
            step = step + change
            prefixes.append(step)
            if r != logits {
                changedSoFar.formUnion(ChangedPositions(nonzeroIn: change))
                prefixChanges.append(changedSoFar)
            }
        }
        let tested = variants == 1 ? prefixes[0] : Tensor.concatenate(prefixes, axis: 0)
        let unchanged = ChangedPositions(rows: variants * pairs.count, length: pairs.length)
        var inputs: [Int: Tensor] = [:], offsets: [Int: Tensor] = [:]
        var inputChanges: [Int: ChangedPositions] = [:], offsetChanges: [Int: ChangedPositions] = [:]
        if r != logits {
            inputs[r] = tested
            inputChanges[r] = ChangedPositions(stacking: prefixChanges)
        }
        var pending = Set(graph.nodes(reading: graph.receivers[r]).map { graph.index(of: $0) })
        while let first = pending.min() {
            let (visited, nodes) = recomputed(with: first, pending: pending)
            pending.subtract(visited)
            guard !nodes.isEmpty else { continue }
            var nodeInputs: [[Tensor]] = [], nodeChanges: [ChangedPositions] = []
            for node in nodes {
                var values: [Tensor] = [], changes: [ChangedPositions] = []
                for receiver in graph.inputs(of: graph.senders[node]) {
                    let input = graph.index(of: receiver)
                    if inputs[input] == nil {
                        var inputChanged = unchanged
                        if reads(offsets, receiver: input) {
                            inputs[input] = recomputedInput(input, offsets: offsets, variants: variants)
                            for (s, sChanged) in offsetChanges where s < graph.upstreamCount(of: input) && remains(s, input) {
                                inputChanged.formUnion(sChanged)
                            }
                        } else {
                            inputs[input] = baseInput(input).repeatedAlongBatch(variants)
                        }
                        inputChanges[input] = inputChanged
                    }
                    values.append(inputs[input]!)
                    changes.append(inputChanges[input]!)
                }
                nodeInputs.append(values)
                var changed = changes[0]
                if case let .head(l, _) = graph.senders[node] {
                    // A changed query, or a changed key or value that a query attends to.
                    var keysAndValues = changes[1]
                    keysAndValues.formUnion(changes[2])
                    changed.formUnion(keysAndValues.attended(slidingWindow: patching.model.blocks[l].attention.slidingWindow))
                }
                nodeChanges.append(changed.upToRead(pairs.readPositions))
            }
            if patching.coupledNodes(of: first).count > 1 {
                // Heads sharing a post-attention norm's divisor are recomputed wherever one of them changes.
                var union = unchanged
                for changed in nodeChanges { union.formUnion(changed) }
                nodeChanges = nodeChanges.map { _ in union }
            }
            for (i, value) in self.offsets(of: nodes, inputs: nodeInputs, changed: nodeChanges, variants: variants).enumerated() {
                let node = nodes[i]
                offsets[node] = value
                offsetChanges[node] = nodeChanges[i]
                for next in graph.receivers.indices where graph.upstreamCount(of: next) > node && remains(node, next) {
                    pending.formUnion(graph.nodes(reading: graph.receivers[next]).map { graph.index(of: $0) })
                }
            }
        }
        let read: Tensor
        if r == logits {
            read = tested
        } else if reads(offsets, receiver: logits) {
            let positions = Array(Array(repeating: pairs.readPositions, count: variants).joined())
            read = recomputedInput(logits, offsets: offsets.mapValues { $0.gather(positions: positions) }, variants: variants)
        } else {
            read = readInput.repeatedAlongBatch(variants)
        }
        let values = metrics(read, variants: variants)
        return Trial(receiver: r, slots: slots, values: values, inputs: inputs, offsets: offsets, readInputs: read)
    }

    /// Makes variant `variant` of a trial the current graph: its edges are patched, its node outputs and
    /// receiver inputs kept.
    mutating func commit(_ trial: Trial, variant: Int) {
        let graph = patching.graph, rows = patching.pairs.count, positions = graph.positionCount
        for slot in trial.slots[...variant] { removed[slot / positions, trial.receiver, slot % positions] = 1 }
        func kept(_ tensor: Tensor) -> Tensor {
            trial.slots.count == 1 ? tensor : tensor.slice(axis: 0, (variant * rows)..<((variant + 1) * rows))
        }
        for (r, input) in trial.inputs { receiverInputs[r] = kept(input) }
        for (node, offset) in trial.offsets { changedOffsets[node] = kept(offset) }
        readInput = kept(trial.readInputs)
        // A kept input that reads a changed node through a remaining edge and was not recomputed (its node is
        // read by nothing) is now stale.
        for node in trial.offsets.keys {
            for r in receiverInputs.keys where trial.inputs[r] == nil && graph.upstreamCount(of: r) > node && remains(node, r) {
                receiverInputs[r] = nil
            }
        }
    }

    /// Patches an edge (at one position bucket) into a node that nothing reads any more (its output is never
    /// needed again).
    mutating func removeUnread(sender: Int, position: Int, receiver: Int) {
        removed[sender, receiver, position] = 1
        receiverInputs[receiver] = nil
    }

    /// The pending nodes visited with `first`, the earliest pending one, and those of them recomputed: heads
    /// sharing a post-attention norm all together when one of them is read; other heads with the pending heads of
    /// their layer, those read recomputed in one attention pass per key-value head; an MLP alone, when read. All
    /// of a layer's heads that a test reaches are pending by then (only earlier nodes add them).
    private func recomputed(with first: Int, pending: Set<Int>) -> (visited: [Int], recomputed: [Int]) {
        let graph = patching.graph, coupled = Array(patching.coupledNodes(of: first))
        if coupled.count > 1 { return (coupled, coupled.contains(where: isRead) ? coupled : []) }
        guard case let .head(l, _) = graph.senders[first] else { return (coupled, coupled.filter(isRead)) }
        let firstHead = graph.index(of: .head(layer: l, head: 0))
        let heads = (firstHead..<(firstHead + graph.headCount)).filter(pending.contains)
        return (heads, heads.filter(isRead))
    }

    /// Whether anything reads the node's output through an edge that remains (else its output cannot matter; a
    /// head sharing a post-attention norm matters while any head of its layer is read, see
    /// ``EdgePatching/coupledNodes(of:)``).
    private func isRead(_ node: Int) -> Bool {
        let graph = patching.graph
        return graph.receivers.indices.contains { graph.upstreamCount(of: $0) > node && remains(node, $0) }
    }

    /// Whether the edge `s → r` remains (is not patched) at some position.
    private func remains(_ s: Int, _ r: Int) -> Bool { !removed.selectsEveryPosition(sender: s, receiver: r) }

    /// `change` (a sender's contribution to `r`'s input, `[rows, pos, d]`, or `[rows, 1, d]` at the read positions)
    /// kept at the positions where `s → r` remains and zeroed where it is patched; unchanged in a plain graph.
    private func keptWhereRemaining(_ change: Tensor, sender s: Int, receiver r: Int, atRead: Bool) -> Tensor {
        guard let buckets = patching.positionBuckets, removed.selectsAnyPosition(sender: s, receiver: r) else { return change }
        let remaining = { removed[s, r, $0] == 0 }
        let keep = atRead ? buckets.indicator(where: remaining, at: patching.pairs.readPositions) : buckets.indicator(where: remaining)
        return change * keep.repeatedAlongBatch(change.shape[0] / keep.shape[0])
    }

    /// Sender `s`'s source output − clean output, `[batch, pos, d]`.
    private static func baseDelta(_ s: Int, of patching: EdgePatching) -> Tensor {
        patching.senderDeltas.select(axis: 0, s).reshaped(patching.sourceOutputs[s].shape)
    }

    /// What patching an edge from `s` adds to its receiver's input: source − current output.
    private func delta(_ s: Int) -> Tensor {
        changedOffsets[s].map { -$0 } ?? Self.baseDelta(s, of: patching)
    }

    /// Sender `s`'s current output − source output, `[batch, pos, d]`.
    private func currentOffset(_ s: Int) -> Tensor {
        changedOffsets[s] ?? -Self.baseDelta(s, of: patching)
    }

    /// ``delta(_:)`` at the read positions.
    private func readDelta(_ s: Int) -> Tensor {
        changedOffsets[s].map { -$0.gather(positions: patching.pairs.readPositions) } ?? readBaseDeltas[s]
    }

    /// Whether `receiver` reads one of the recomputed nodes of `offsets` through an edge that remains.
    private func reads(_ offsets: [Int: Tensor], receiver: Int) -> Bool {
        offsets.keys.contains { $0 < patching.graph.upstreamCount(of: receiver) && remains($0, receiver) }
    }

    /// The input of a receiver that reads recomputed nodes, per variant: the all-patched input, plus
    /// current − source output for each unpatched sender, the ones not recomputed first, each group in sender
    /// order. (The logits' input at the read positions when `receiver` is the logits and `offsets` are read
    /// there.) It depends only on the graph and the offsets, not on the order in which edges were committed,
    /// so batched and one-at-a-time runs agree exactly; the receivers reached are visited ones, whose
    /// remaining edges are few.
    private func recomputedInput(_ receiver: Int, offsets: [Int: Tensor], variants: Int) -> Tensor {
        let upstream = patching.graph.upstreamCount(of: receiver), atRead = receiver == patching.graph.receivers.count - 1
        let unpatched = (0..<upstream).filter { remains($0, receiver) }
        let allPatched = atRead ? readAllPatched : patching.allPatchedInput(of: receiver)
        guard patching.positionBuckets == nil else {
            // Position-aware: each term is kept at the buckets where its edge remains (a mask per position).
            var shared = allPatched
            for s in unpatched where offsets[s] == nil {
                shared = shared - keptWhereRemaining(atRead ? readDelta(s) : delta(s), sender: s, receiver: receiver, atRead: atRead)
            }
            var value = shared.repeatedAlongBatch(variants)
            for s in unpatched {
                guard let offset = offsets[s] else { continue }
                value = value + keptWhereRemaining(offset, sender: s, receiver: receiver, atRead: atRead)
            }
            return value
        }
        // The same additions in the same order, in one pass without intermediate tensors (− delta = current offset).
        let size = allPatched.count, every = [Float](repeating: 1, count: variants)
        var sums = Tensor.WeightedSums(rows: variants, length: size)
        sums.add(.init(allPatched), weights: every)
        for s in unpatched where offsets[s] == nil {
            if let offset = changedOffsets[s] {
                sums.add(.init(atRead ? offset.gather(positions: patching.pairs.readPositions) : offset), weights: every)
            } else {
                sums.add(atRead ? .init(readBaseDeltas[s]) : patching.baseDelta(s), weights: every.map { -$0 })
            }
        }
        for s in unpatched {
            guard let offset = offsets[s] else { continue }
            for v in 0..<variants {
                sums.add(.init(offset, offset: v * size), weights: (0..<variants).map { $0 == v ? 1 : 0 })
            }
        }
        return sums.result().reshaped([variants * allPatched.shape[0]] + allPatched.shape.dropFirst())
    }

    /// The metric of each variant from the logits' inputs `[variants·batch, 1, d]`.
    private func metrics(_ read: Tensor, variants: Int) -> [Float] { patching.variantMetrics(read: read, variants: variants) }

    /// The output − source output `[variants·batch, pos, d]` of `nodes` (one MLP, the heads of one layer sharing a
    /// post-attention norm, or other heads of one layer) whose inputs are `inputs`: recomputed at each node's
    /// `changed` positions, the current one elsewhere. An MLP is recomputed at those positions only; heads in the
    /// rows that have one (attention reads every key): heads sharing a post-attention norm all at once, their
    /// shared divisor coming from all heads' results (and their `changed` positions the same), other heads in one
    /// attention pass per key-value head, whose keys and values are projected once. Each row's values depend only
    /// on its own inputs, so batched and one-at-a-time tests agree.
    private func offsets(of nodes: [Int], inputs: [[Tensor]], changed: [ChangedPositions], variants: Int) -> [Tensor] {
        let model = patching.model
        switch patching.graph.senders[nodes[0]] {
        case .input:
            preconditionFailure("the input node has no inputs to patch")
        case let .mlp(l):
            return [offset(of: nodes[0], changed: changed[0], variants: variants) { cells, _ in
                model.blocks[l].mlpOutput(inputs[0][0].cells(cells))!
            }]
        case let .head(l, _) where model.blocks[l].headsShareNorm:
            // Every head's `changed` is the same here (their union).
            guard !changed[0].isEmpty else { return nodes.map { currentOffset($0).repeatedAlongBatch(variants) } }
            let grouping = patching.graph.grouping, block = model.blocks[l]
            let (context, mask, rows) = headPass(layer: l, changed: changed[0])
            let rowInputs = inputs.map { $0.map { $0.indexSelect(axis: 0, rows) } }
            // Each key-value head's inputs are those of its first query head.
            let groupHeads = (0..<grouping.keyValueHeads).map { grouping.queryHeads(of: $0).first! }
            let results = block.headResults(queryInputs: Tensor.stack(rowInputs.map { $0[0] }, axis: 2),
                                            keyInputs: Tensor.stack(groupHeads.map { rowInputs[$0][1] }, axis: 2),
                                            valueInputs: Tensor.stack(groupHeads.map { rowInputs[$0][2] }, axis: 2),
                                            context: context, mask: mask)
            let written = block.headSenderOutputs(results: results)
            return nodes.indices.map { i in
                offset(of: nodes[i], changed: changed[i], variants: variants) { _, localCells in
                    written.select(axis: 2, i).cells(localCells)
                }
            }
        case let .head(l, _):
            // The heads of each key-value head in one pass over the rows where one of them changes; they share their
            // key and value inputs (those receivers belong to the key-value head).
            let graph = patching.graph, block = model.blocks[l]
            let heads = nodes.map { node -> Int in
                guard case let .head(_, h) = graph.senders[node] else { preconditionFailure("\(graph.senders[node]) is not a head") }
                return h
            }
            var values = [Tensor?](repeating: nil, count: nodes.count)
            for group in 0..<graph.grouping.keyValueHeads {
                let members = nodes.indices.filter { graph.grouping.keyValueHead(of: heads[$0]) == group && !changed[$0].isEmpty }
                guard !members.isEmpty else { continue }
                var union = changed[members[0]]
                for i in members.dropFirst() { union.formUnion(changed[i]) }
                let (context, mask, rows) = headPass(layer: l, changed: union)
                let local = Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($0.element, $0.offset) })
                // The results only at the cells where one of the heads changed (each head's among them).
                let length = patching.pairs.length, unionCells = union.flatIndices
                let results = block.headResults(members.map { heads[$0] },
                                                queryInputs: Tensor.stack(members.map { inputs[$0][0].indexSelect(axis: 0, rows) }, axis: 2),
                                                keyInput: inputs[members[0]][1].indexSelect(axis: 0, rows),
                                                valueInput: inputs[members[0]][2].indexSelect(axis: 0, rows),
                                                context: context, mask: mask,
                                                cells: unionCells.map { local[$0 / length]! * length + $0 % length })
                let position = Dictionary(uniqueKeysWithValues: unionCells.enumerated().map { ($0.element, $0.offset) })
                for (j, i) in members.enumerated() {
                    values[i] = offset(of: nodes[i], changed: changed[i], variants: variants, localRows: local) { cells, _ in
                        results.select(axis: 1, j).indexSelect(axis: 0, cells.map { position[$0]! })
                    }
                }
            }
            return nodes.indices.map { values[$0] ?? currentOffset(nodes[$0]).repeatedAlongBatch(variants) }
        }
    }

    /// A node's output − source output `[variants·batch, pos, d]`: the current one, with the cells at `changed`
    /// replaced by `output(cells, localCells)` − source output there, `output` giving the node's output
    /// `[1, cells, d]` at the flat cells (`row · length + position`) of a pass over all rows, or their cells
    /// in a pass over the rows `localRows` (each row's index in it; by default the changed rows).
    private func offset(of node: Int, changed: ChangedPositions, variants: Int, localRows: [Int: Int]? = nil,
                        _ output: (_ cells: [Int], _ localCells: [Int]) -> Tensor) -> Tensor {
        guard !changed.isEmpty else { return currentOffset(node).repeatedAlongBatch(variants) }
        let pairs = patching.pairs, length = pairs.length, cells = changed.flatIndices
        let local = localRows ?? Dictionary(uniqueKeysWithValues: changed.changedRows.enumerated().map { ($0.element, $0.offset) })
        let localCells = cells.map { local[$0 / length]! * length + $0 % length }
        let sourceCells = cells.map { (($0 / length) % pairs.count) * length + $0 % length }
        return currentOffset(node).repeatedAlongBatch(variants, replacingCells: cells,
                                                      with: output(cells, localCells) - patching.sourceOutputs[node].cells(sourceCells))
    }

    /// An attention pass of layer `layer` over the rows with a changed position: its context and mask, and the rows.
    private func headPass(layer: Int, changed: ChangedPositions) -> (context: AttentionContext, mask: Tensor, rows: [Int]) {
        let pairs = patching.pairs, rows = changed.changedRows
        let batch = TokenBatch(tokens: rows.map { pairs.clean.tokens[$0 % pairs.count] },
                               mask: rows.map { pairs.clean.mask[$0 % pairs.count] })
        let context = AttentionContext(batch: batch)
        return (context, context.additiveMask(slidingWindow: patching.model.blocks[layer].attention.slidingWindow), rows)
    }

    /// Receiver `r`'s current input `[batch, pos, d]`, computed once and then kept up to date.
    private mutating func baseInput(_ r: Int) -> Tensor {
        if let known = receiverInputs[r] { return known }
        let value = fullInput(of: r)
        receiverInputs[r] = value
        return value
    }

    /// Receiver `r`'s input `[batch, pos, d]` summed from its senders' outputs.
    ///
    /// It is computed from whichever side needs fewer terms: the clean input plus the patched senders' deltas
    /// (when every unpatched sender is clean), or the all-patched input plus, for each unpatched sender, its
    /// current output minus its source output.
    private func fullInput(of r: Int) -> Tensor {
        let upstream = patching.graph.upstreamCount(of: r)
        let pairs = patching.pairs, shape = [pairs.count, pairs.length, patching.model.dModel]
        if let buckets = patching.positionBuckets, (0..<upstream).contains(where: {
            removed.selectsAnyPosition(sender: $0, receiver: r) && remains($0, r)
        }) {
            // Some edge is patched at some positions only: per group of buckets with the same remaining senders, the
            // all-patched input + Σ over those senders of (current − source) output, kept at the group's positions.
            var groups: [[Bool]: [Int]] = [:]
            for b in 0..<patching.graph.positionCount {
                groups[(0..<upstream).map { removed[$0, r, b] == 0 }, default: []].append(b)
            }
            let parts = groups.sorted { $0.value[0] < $1.value[0] }.map { remaining, bucketsOfSum in
                allPatchedInput(r, plusRemaining: (0..<upstream).filter { remaining[$0] }).reshaped(shape)
                    * buckets.indicator(where: bucketsOfSum.contains)
            }
            return parts.dropFirst().reduce(parts[0], +)
        }
        let unpatched = (0..<upstream).filter { remains($0, r) }
        if unpatched.count <= upstream - unpatched.count || unpatched.contains(where: { changedOffsets[$0] != nil }) {
            return allPatchedInput(r, plusRemaining: unpatched).reshaped(shape)
        }
        // Clean input + Σ over patched senders of (source − clean) output; every unpatched sender is clean.
        var sums = Tensor.WeightedSums(rows: 1, length: pairs.count * pairs.length * patching.model.dModel)
        sums.add(.init(patching.cleanInput(of: r)), weights: [1])
        for s in 0..<upstream where !remains(s, r) { sums.add(patching.baseDelta(s), weights: [1]) }
        return sums.result().reshaped(shape)
    }

    /// Receiver `r`'s all-patched input + Σ over `senders` of their (current − source) output, flat.
    private func allPatchedInput(_ r: Int, plusRemaining senders: [Int]) -> Tensor {
        let pairs = patching.pairs
        var sums = Tensor.WeightedSums(rows: 1, length: pairs.count * pairs.length * patching.model.dModel)
        sums.add(.init(patching.allPatchedInput(of: r)), weights: [1])
        for s in senders {
            if let offset = changedOffsets[s] {
                sums.add(.init(offset), weights: [1])
            } else {
                sums.add(patching.baseDelta(s), weights: [-1])
            }
        }
        return sums.result()
    }
}
