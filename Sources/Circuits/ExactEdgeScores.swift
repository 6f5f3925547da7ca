extension EdgePatching {
    /// Every edge's exact patching effect, ``EdgeAttributionMethod/exact``: the metric with that edge alone patched
    /// minus the clean metric (the EAP-IG library's `get_scores_exact`, which runs one full forward pass per edge).
    /// In a position-aware graph the edge `s@b → r@b` patches `s`'s delta into `r`'s input at bucket `b`'s
    /// positions only. See ``exactEffects(of:progress:)``.
    func exactEdgeScores(progress: ProgressReporter) throws -> EdgeScores {
        EdgeScores(graph: graph, values: try exactEffects(of: graph.edges, progress: progress), method: EdgeAttributionMethod.exact.name)
    }

    /// The exact patching effect of each of `edges` alone (the metric with that edge patched minus the clean
    /// metric), in the order given: ``EdgeAttributionMethod/exact`` for some edges only, e.g. to check the top
    /// edges of an attribution method. Prepares the clean run's parts for one question; ``ExactEdgeEffects``
    /// keeps them for several.
    public func exactEffects(of edges: [ComputationGraph.Edge], progress: ProgressReporter = .silent) throws -> [Float] {
        var exact = try ExactEdgeEffects(self)
        return try exact.effects(of: edges, progress: progress)
    }
}
