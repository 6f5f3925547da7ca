/// Settings of an ACDC run.
public struct ACDCOptions: Sendable {
    /// τ: an edge is removed when removing it worsens the metric by less than this.
    public var threshold: Float
    /// Compare |change| with τ instead of the signed worsening.
    public var absoluteValue: Bool
    /// Test heads and MLPs as units (all of a node's outgoing edges at once) instead of single edges.
    public var nodeLevel: Bool
    /// The most upcoming edges tested in one batched pass (edge level). 1 tests one edge at a time; above 1 the
    /// batch size adapts to the observed keep rate and the memory a pass holds (see ``ACDCBatchSize``). Decisions do
    /// not depend on it.
    public var maxBatchSize: Int

    public init(threshold: Float, absoluteValue: Bool = false, nodeLevel: Bool = false, maxBatchSize: Int = 32) {
        precondition(maxBatchSize >= 1, "the ACDC batch size must be at least 1, got \(maxBatchSize)")
        self.threshold = threshold
        self.absoluteValue = absoluteValue
        self.nodeLevel = nodeLevel
        self.maxBatchSize = maxBatchSize
    }
}

/// The outcome of ACDC: the edges kept, the effect measured for each tested edge, and the run's cost.
public struct ACDCResult {
    public let graph: ComputationGraph
    /// The edges that remain (the circuit), before pruning of unreachable nodes.
    public let kept: Set<ComputationGraph.Edge>
    /// For each tested edge (or each edge of a tested node), the metric's worsening when it was removed.
    public let effects: [ComputationGraph.Edge: Float]
    /// The metric of the final circuit (all removed edges patched).
    public let finalValue: Float
    public let testCount: Int
    public let options: ACDCOptions
}

extension EdgePatching {
    /// Automatic circuit discovery (Conmy et al. 2023).
    ///
    /// Starting from the full graph, receivers are visited in reverse topological order from the logits.
    /// For each incoming edge (latest sender first), the edge is patched on top of the current graph and
    /// the metric recomputed; if it worsens by less than τ the edge is removed for good, otherwise kept.
    /// A receiver whose node has no outgoing edge left is skipped and its incoming edges removed. Each test
    /// recomputes only the nodes the edge reaches through the edges that remain (``IncrementalPatching``).
    /// The order is deterministic. In a position-aware graph (``PositionBuckets``) each edge is tested at each
    /// position bucket, the later buckets first within a sender.
    ///
    /// Known limit (the method's, shown in the ACDC blog post): behaviour spread over many small edges is
    /// lost — five heads each adding 1 with τ = 2 keep no edge.
    public func acdc(_ options: ACDCOptions, progress: ((_ tested: Int, _ total: Int) -> Void)? = nil) -> ACDCResult {
        if options.nodeLevel { return acdcNodes(options, progress: progress) }
        // A fresh state always matches this run, so resuming checks cannot fail here.
        return try! acdcEdges(options, progress: progress).result
    }

    /// How much worse `value` is than `current` for the metric's direction.
    func worsening(_ value: Float, from current: Float, absolute: Bool) -> Float {
        let change = metric.higherIsBetter ? current - value : value - current
        return absolute ? Swift.abs(value - current) : change
    }

    /// Edge-level ACDC that can stop and resume: `state` holds everything decided so far.
    ///
    /// Upcoming edges into the current receiver are tested in batches: variant i of a batch is the current
    /// graph without the batch's first i + 1 edges, so the decisions up to the first edge that must be kept
    /// are exactly the one-at-a-time run's; the variants after a kept edge assumed it removed, so they are
    /// discarded and tested again from the graph that keeps it. A batch never crosses a receiver: whether
    /// the next receiver's node is still read (else its edges are skipped) depends on the decisions before it.
    /// Edges already removed in the starting state (see ``ACDCState/init(patching:options:candidates:)``) are
    /// skipped, not tested.
    ///
    /// `checkpoint` receives the state every `checkpointInterval` tests (write it atomically to resume after
    /// an interruption; it can fall inside a batch); `stopAfter` ends the run early (the returned state
    /// resumes it). `progress` receives, after each batch, the tests done and that count plus the edges left to
    /// visit (an upper bound of the tests of the whole run, which falls as receivers are skipped).
    public func acdcEdges(_ options: ACDCOptions, resumingFrom saved: ACDCState? = nil, checkpointInterval: Int = 50,
                          checkpoint: ((ACDCState) -> Void)? = nil, stopAfter: Int? = nil,
                          progress: ((_ tested: Int, _ total: Int) -> Void)? = nil) throws -> (result: ACDCResult, state: ACDCState) {
        var state = saved ?? ACDCState(start: self, options: options)
        try state.check(against: self, options: options)
        var run = IncrementalPatching(self, removed: EdgeMask(graph: graph, values: state.removed))
        // `state.sender` counts slots `sender · positions + position` (the sender itself in a plain graph).
        let positions = graph.positionCount
        // A batch holds at most 8192 token rows per recomputed node.
        let rowLimit = Swift.max(1, 8192 / (pairs.count * pairs.length))
        var batchSize = ACDCBatchSize(maximum: Swift.min(options.maxBatchSize, rowLimit))
        let offsets = graph.edgeOffsets
        var testsThisRun = 0
        while state.receiver >= 0 {
            let r = state.receiver
            if !isReached(receiver: r, alive: state.alive) {
                for slot in stride(from: state.sender, through: 0, by: -1) {
                    run.removeUnread(sender: slot / positions, position: slot % positions, receiver: r)
                    state.markRemoved(slot: slot, receiver: r, in: graph)
                }
                state.sender = -1
            }
            while state.sender >= 0 {
                // Edges removed before the run started (outside a candidate subgraph) are not tested.
                while state.sender >= 0 && run.removed[state.sender / positions, r, state.sender % positions] != 0 { state.sender -= 1 }
                guard state.sender >= 0 else { break }
                var size = batchSize.next
                if let stopAfter {
                    if testsThisRun >= stopAfter { return (result(state: state, options: options), state) }
                    size = Swift.min(size, stopAfter - testsThisRun)
                }
                let removed = run.removed
                let slots = Array(stride(from: state.sender, through: 0, by: -1).lazy
                    .filter { removed[$0 / positions, r, $0 % positions] == 0 }.prefix(size))
                let trial = run.test(slots: slots, receiver: r)
                batchSize.record(bytes: trial.bytes, variants: slots.count)
                var accepted: Int?
                for (i, s) in slots.enumerated() {
                    state.sender = s - 1
                    state.tested += 1
                    testsThisRun += 1
                    let change = worsening(trial.values[i], from: state.current, absolute: options.absoluteValue)
                    state.effects[offsets[r] + s] = change
                    let removes = change < options.threshold
                    if removes {
                        state.markRemoved(slot: s, receiver: r, in: graph)
                        state.current = trial.values[i]
                        accepted = i
                    } else {
                        state.alive.insert(s / positions)
                    }
                    batchSize.record(kept: !removes)
                    if let checkpoint, state.tested % checkpointInterval == 0 { checkpoint(state) }
                    if !removes { break }
                }
                if let accepted { run.commit(trial, variant: accepted) }
                progress?(state.tested, state.tested + offsets[r] + state.sender + 1)
            }
            state.receiver -= 1
            if state.receiver >= 0 { state.sender = graph.upstreamCount(of: state.receiver) * positions - 1 }
        }
        checkpoint?(state)
        return (result(state: state, options: options), state)
    }

    /// Whether ACDC tests the edges into receiver `r`: it is the logits, or its node (or a node sharing its
    /// post-attention norm) has a kept outgoing edge, i.e. is in `alive`. Else they are removed untested.
    func isReached(receiver r: Int, alive: Set<Int>) -> Bool {
        r == graph.receivers.count - 1 || graph.nodes(reading: graph.receivers[r]).contains { node in
            coupledNodes(of: graph.index(of: node)).contains(where: alive.contains)
        }
    }

    private func result(state: ACDCState, options: ACDCOptions) -> ACDCResult {
        let removed = EdgeMask(graph: graph, values: state.removed)
        let effects = Dictionary(uniqueKeysWithValues: state.effects.map { (graph.edges[$0.key], $0.value) })
        return self.result(removed: removed, effects: effects, finalValue: state.current, tested: state.tested, options: options)
    }

    private func acdcNodes(_ options: ACDCOptions, progress: ((Int, Int) -> Void)?) -> ACDCResult {
        var removed = EdgeMask(graph: graph)
        var current = cleanValue
        var effects: [ComputationGraph.Edge: Float] = [:]
        let candidates = graph.senders.filter { $0 != .input }.reversed()
        var tested = 0
        for node in candidates {
            let outgoing = graph.edges.filter { $0.sender == node }
            var candidate = removed
            for edge in outgoing { candidate[graph.index(of: edge.sender), graph.index(of: edge.receiver), edge.position ?? 0] = 1 }
            let value = metrics([candidate])[0]
            tested += 1
            progress?(tested, candidates.count)
            let change = worsening(value, from: current, absolute: options.absoluteValue)
            for edge in outgoing { effects[edge] = change }
            if change < options.threshold {
                removed = candidate
                current = value
            }
        }
        return result(removed: removed, effects: effects, finalValue: current, tested: tested, options: options)
    }

    private func result(removed: EdgeMask, effects: [ComputationGraph.Edge: Float], finalValue: Float, tested: Int,
                        options: ACDCOptions) -> ACDCResult {
        let kept = Set(graph.edges.filter { removed[graph.index(of: $0.sender), graph.index(of: $0.receiver), $0.position ?? 0] == 0 })
        return ACDCResult(graph: graph, kept: kept, effects: effects, finalValue: finalValue, testCount: tested, options: options)
    }
}

/// Everything an edge-level ACDC run has decided so far, to resume it after an interruption.
public struct ACDCState: Codable, Equatable {
    /// The `[senders, receivers]` mask of removed edges.
    public var removed: [Float]
    /// The metric of the current graph.
    public var current: Float
    /// The receiver being visited (receivers are visited from the last, the logits, to the first).
    public var receiver: Int
    /// The next sender to test for that receiver (senders are tested from the latest); in a position-aware
    /// graph the next slot `sender · positions + position` (later positions first within a sender).
    public var sender: Int
    /// Senders with a kept outgoing edge.
    public var alive: Set<Int>
    /// The measured worsening per tested edge, by index in the graph's edge list.
    public var effects: [Int: Float]
    public var tested: Int
    /// What the run was started with, to refuse resuming a different run.
    public let threshold: Float
    public let metric: String
    public let edgeCount: Int

    init(start patching: EdgePatching, options: ACDCOptions) {
        let graph = patching.graph
        removed = EdgeMask(graph: graph).values
        current = patching.cleanValue
        receiver = graph.receivers.count - 1
        sender = graph.upstreamCount(of: graph.receivers.count - 1) * graph.positionCount - 1
        alive = []
        effects = [:]
        tested = 0
        threshold = options.threshold
        metric = patching.metric.name
        edgeCount = graph.edges.count
    }

    /// A state that resumes ACDC at `edge` as if every edge ACDC visits before it (those into later
    /// receivers, and into the same receiver from later senders) had been decided: removed when `removed`
    /// selects it, kept otherwise, except that edges into a receiver that nothing kept reads are removed, as
    /// ACDC removes them untested (so the state is one a run can reach). Use it to start from a hand-made graph
    /// or to time tests deep in a run.
    public init(patching: EdgePatching, options: ACDCOptions, removed: EdgeMask, resumingAt edge: ComputationGraph.Edge) {
        let graph = patching.graph
        self.init(start: patching, options: options)
        let positions = graph.positionCount
        receiver = graph.index(of: edge.receiver)
        sender = graph.index(of: edge.sender) * positions + (edge.position ?? 0)
        var decided = EdgeMask(graph: graph)
        for r in stride(from: graph.receivers.count - 1, through: receiver, by: -1) {
            let reached = patching.isReached(receiver: r, alive: alive)
            for slot in (r == receiver ? sender + 1 : 0)..<(graph.upstreamCount(of: r) * positions) {
                let (s, p) = (slot / positions, slot % positions)
                if removed[s, r, p] != 0 || !reached { decided[s, r, p] = 1 } else { alive.insert(s) }
            }
        }
        self.removed = decided.values
        current = patching.metrics([decided])[0]
    }

    /// Records the edge at `slot` (`sender · positions + position`) into `receiver` as removed.
    mutating func markRemoved(slot: Int, receiver: Int, in graph: ComputationGraph) {
        let positions = graph.positionCount
        removed[((slot / positions) * graph.receivers.count + receiver) * positions + slot % positions] = 1
    }

    /// A state that runs ACDC on a candidate subgraph: every edge outside `candidates` starts removed and is
    /// never tested (e.g. the candidates an EAP-IG circuit marks), so only the candidates are tested.
    public init(patching: EdgePatching, options: ACDCOptions, candidates: Set<ComputationGraph.Edge>) {
        self.init(start: patching, options: options)
        let graph = patching.graph
        removed = EdgeMask(graph: graph, edges: candidates).complement(in: graph).values
        current = patching.metrics([EdgeMask(graph: graph, values: removed)])[0]
    }

    func check(against patching: EdgePatching, options: ACDCOptions) throws {
        guard edgeCount == patching.graph.edges.count, metric == patching.metric.name, threshold == options.threshold,
              removed.count == patching.graph.senders.count * patching.graph.receivers.count * patching.graph.positionCount else {
            throw CircuitError.invalidArgument("the saved ACDC state is for another run (\(edgeCount) edges, metric \(metric), τ \(threshold)); "
                + "this run has \(patching.graph.edges.count) edges, metric \(patching.metric.name), τ \(options.threshold)")
        }
    }
}
