import Circuits

/// The model suites `forward`, `cache`, `patching` and `attribution`, on one loaded checkpoint.
///
/// Reference forward passes (1x15, the 10x15 batch of the circuit suites) are timed once and shared, so that
/// every ratio divides by the same figure.
final class ModelBench {
    let model: TransformerModel
    let report: BenchReport
    private var referenceTimes: [String: Double] = [:]

    init(model: TransformerModel, report: BenchReport) {
        self.model = model
        self.report = report
    }

    var vocabulary: Int { model.vocabularySize }

    /// The median time of a plain forward pass (all logits) of `batch x length` tokens, measured once.
    func forwardReference(batch: Int, length: Int) -> (name: String, seconds: Double) {
        let name = "forward \(batch)x\(length)"
        if let seconds = referenceTimes[name] { return (name, seconds) }
        let tokens = BenchInputs.tokens(batch: batch, length: length, vocabulary: vocabulary)
        let seconds = report.time("reference", name) { _ = model.forward(tokens) }.median
        referenceTimes[name] = seconds
        return (name, seconds)
    }

    /// The median of a forward pass of a prompt-pair batch (the clean prompts), measured once.
    func pairsReference(_ pairs: PromptPairs) -> (name: String, seconds: Double) {
        let name = "forward \(pairs.count)x\(pairs.length) (clean prompts)"
        if let seconds = referenceTimes[name] { return (name, seconds) }
        let seconds = report.time("reference", name) { _ = model.forward(pairs.clean) }.median
        referenceTimes[name] = seconds
        return (name, seconds)
    }

    func forward() {
        for (batch, length) in [(1, 16), (10, 15), (8, 128)] {
            guard length <= model.contextLength else {
                BenchLog.note("forward: forward \(batch)x\(length) left out: the model's context is \(model.contextLength) positions")
                continue
            }
            let tokens = BenchInputs.tokens(batch: batch, length: length, vocabulary: vocabulary)
            BenchLog.note("forward: forward \(batch)x\(length) ...")
            let samples = report.timer.measure { _ = model.forward(tokens) }
            report.record("forward", "forward \(batch)x\(length)", samples: samples, goal: "<= PyTorch",
                          detail: samples.pageFaultNote)
        }
    }

    func cache() throws {
        let tokens = BenchInputs.tokens(batch: 1, length: 15, vocabulary: vocabulary)
        let plain = forwardReference(batch: 1, length: 15)
        for (filter, label, note) in [(ActivationFilter.standard, "standard hooks", ""),
                                      (.all, "every hook", ", with per-head results and split q/k/v inputs")] {
            let count = try model.runWithCache(tokens, filter: filter).cache.count
            try report.time("cache", "run_with_cache \(label) 1x15", reference: plain, goal: "<= 1.5x",
                        detail: "\(count) activations\(note)") {
                _ = try model.runWithCache(tokens, filter: filter)
            }
        }
    }

    func patching() throws {
        let pairs = try BenchInputs.promptPairs(examples: 1, vocabulary: vocabulary)
        let metric = BenchInputs.logitDifference(pairs)
        let plain = forwardReference(batch: 1, length: 15)
        let layers = model.layerCount, heads = model.headCount
        try report.time("patching", "resid_pre sweep \(layers)x\(pairs.length)", reference: plain, goal: ">= 20x faster than TL",
                    detail: "includes caching both runs") {
            _ = try ActivationPatching(model: model, pairs: pairs, metric: metric).sweep(.residPre)
        }
        try report.time("patching", "head_out all-pos sweep \(layers)x\(heads)", reference: plain, goal: ">= 20x faster than TL",
                    detail: "includes caching both runs") {
            _ = try ActivationPatching(model: model, pairs: pairs, metric: metric).sweep(.headOut)
        }
    }

    func attribution() throws {
        let pairs = try BenchInputs.promptPairs(examples: 1, vocabulary: vocabulary)
        let plain = forwardReference(batch: 1, length: 15)
        let components = PatchComponent.allCases
        try report.time("attribution", "attribution patching, \(components.count) components 1x15",
                    reference: ("3 x " + plain.name, 3 * plain.seconds), goal: "< 1x",
                    detail: components.map(\.rawValue).joined(separator: ",")) {
            _ = try AttributionPatching(model: model, pairs: pairs, metric: BenchInputs.logitDifference(pairs)).attribute(components)
        }
    }
}
