extension EdgePatching {
    /// Path patching of several sender and receiver sets (names as in ``PathEndpoint``): the values of
    /// ``pathPatching(senders:receivers:)`` for each set in turn, most of them from shared batched passes.
    ///
    /// When every receiver of a set reads one residual point (a block's queries, keys and values, an MLP, or the
    /// logits), no receiver is downstream of another, and run 1 of the definition changes nothing before that point
    /// but the senders' outputs: each receiver records its clean input plus the deltas (source − clean output) of the
    /// senders upstream of it. Run 2 is then edge patching of the edges sender → receiver, so the set is one
    /// ``EdgeMask``, and such masks run as variants of batched patched passes (``metrics(_:)``), ordered by their
    /// first receiving layer so that each pass starts as late as its variants allow. Other sets (receivers at several
    /// points, or a position-aware graph) run one at a time by the definition.
    public func pathPatching(_ sets: [(senders: [String], receivers: [String])]) throws -> [PathPatchingResult] {
        let resolver = model.hookNameResolver
        var results = [PathPatchingResult?](repeating: nil, count: sets.count)
        var batched: [(set: Int, layer: Int, mask: EdgeMask, senders: [String], receivers: [String])] = []
        for (i, set) in sets.enumerated() {
            let senders = try set.senders.flatMap { try PathEndpoint.senders($0, graph: graph, resolver: resolver) }
            let receivers = try set.receivers.flatMap { try PathEndpoint.receivers($0, graph: graph, resolver: resolver) }
            let receiverIndices = receivers.map { graph.index(of: $0) }
            guard positionBuckets == nil, Set(receiverIndices.map(graph.readPoint(of:))).count == 1 else {
                results[i] = try pathPatching(senders: set.senders, receivers: set.receivers)
                continue
            }
            var mask = EdgeMask(graph: graph)
            for r in receiverIndices {
                for s in senders.map({ graph.index(of: $0) }) where s < graph.upstreamCount(of: r) { mask[s, r] = 1 }
            }
            batched.append((i, receivers[0].layer(layerCount: model.layerCount), mask,
                            senders.map(\.name), receivers.map { $0.name(groupedQuery: graph.groupedQuery) }))
        }
        batched.sort { ($0.layer, $0.set) > ($1.layer, $1.set) }
        for (item, value) in zip(batched, metrics(batched.map(\.mask))) {
            results[item.set] = PathPatchingResult(senders: item.senders, receivers: item.receivers, value: value,
                                                   cleanValue: cleanValue, corruptedValue: corruptedValue)
        }
        return results.map { $0! }
    }
}
