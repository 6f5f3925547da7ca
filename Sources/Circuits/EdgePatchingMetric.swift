extension EdgePatching {
    /// The same cached runs read by another metric, built like the initializer's from the clean logits: no forward
    /// pass when the source is the corrupted run (its logits are kept), else one patched pass for the all-patched
    /// value. The cached outputs are shared, not copied.
    public func measured(by makeMetric: (_ cleanLogits: Tensor) -> Metric) -> EdgePatching {
        EdgePatching(self, metric: makeMetric(cleanLogits))
    }

    /// ``measured(by:)`` with a named metric kind compared with the clean run.
    public func measured(by kind: MetricKind) -> EdgePatching {
        measured { clean in kind.metric(answers: pairs.answers, wrongs: pairs.wrongs, reference: clean) }
    }

    private init(_ other: EdgePatching, metric: Metric) {
        model = other.model
        graph = other.graph
        pairs = other.pairs
        positionBuckets = other.positionBuckets
        self.metric = metric
        cleanLogits = other.cleanLogits
        allPatchedLogits = other.allPatchedLogits
        senderDeltas = other.senderDeltas
        sourceOutputs = other.sourceOutputs
        allPatchedInputs = other.allPatchedInputs
        cleanInputs = other.cleanInputs
        cleanPrefix = other.cleanPrefix
        runs = PatchedRuns(model: other.model, batch: other.pairs.clean, residuals: other.runs.residuals, metric: metric)
        runs.maxRowsPerPass = other.runs.maxRowsPerPass
        cleanValue = metric(cleanLogits).item
        corruptedValue = allPatchedLogits.map { metric($0).item } ?? metrics([.all(graph)])[0]
    }
}
