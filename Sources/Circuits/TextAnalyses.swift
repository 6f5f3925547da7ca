/// Text-in conveniences on a loaded model, mirroring the seed guide's calls one to one (with `trace`, which
/// lives in Interp): `directLogitAttribution(text:)`, `activationPatching`, `attributionPatching`, `pathPatching`, `acdc`.
///
/// ```swift
/// let lm = try LanguageModel.load(from: directory)
/// let dla = try lm.directLogitAttribution(text: "The capital of France is")
/// let path = try lm.pathPatching(clean: "The Eiffel Tower is in", corrupted: "The Colosseum is in",
///                                sender: "layers.7.self_attn", receiver: "layers.9.self_attn", metric: .l2)
/// print(path.effect)
/// ```
extension LanguageModel {
    /// Direct logit attribution of a prompt's next token: the predicted one by default (`targetToken: nil`).
    public func directLogitAttribution(text: String, targetToken: String? = nil, position: Int = -1) throws -> DirectLogitAttribution {
        let target = try targetToken.map { LogitTarget.token(try singleToken($0, role: "the target token")) } ?? .predicted
        return try model.directLogitAttribution(TokenBatch([try tokens(text)]), target: target, position: position)
    }

    /// One clean/corrupted pair; without answers, the answer is the clean run's top prediction and the wrong
    /// answer the corrupted run's.
    public func pair(clean: String, corrupted: String, answer: String? = nil, wrong: String? = nil) throws -> PromptPairs {
        let c = try tokens(clean), x = try tokens(corrupted)
        func predicted(_ ids: [Int]) -> Int { model.forward(TokenBatch([ids]), logitPositions: .last).argmax() }
        return try PromptPairs(clean: [c], corrupted: [x], answers: [try answer.map { try singleToken($0, role: "the answer") } ?? predicted(c)],
                               wrongs: [try wrong.map { try singleToken($0, role: "the wrong answer") } ?? predicted(x)], padID: tokenizer.padTokenID ?? 0)
    }

    /// Activation patching of one component (denoising by default).
    public func activationPatching(clean: String, corrupted: String, component: PatchComponent, metric: MetricKind = .logitDiff,
                                   direction: PatchDirection = .denoising) throws -> PatchingResult {
        let pairs = try pair(clean: clean, corrupted: corrupted)
        return try ActivationPatching(model: model, pairs: pairs, metric: metric.metric(for: pairs, model: model), direction: direction,
                                      components: [component])
            .sweep(component)
    }

    /// Attribution patching of one component: true gradients, one backward pass.
    public func attributionPatching(clean: String, corrupted: String, component: PatchComponent,
                                    metric: MetricKind = .logitDiff) throws -> PatchingResult {
        let pairs = try pair(clean: clean, corrupted: corrupted)
        return try AttributionPatching(model: model, pairs: pairs, metric: metric.metric(for: pairs, model: model))
            .attribute([component])[0]
    }

    /// Path patching from a sender to a receiver (`layers.7.self_attn`, `a7.h3`, `m5`, `a9.h9<q>`, `logits`, ...).
    public func pathPatching(clean: String, corrupted: String, sender: String, receiver: String,
                             metric: MetricKind = .logitDiff) throws -> PathPatchingResult {
        try EdgePatching(model: model, pairs: try pair(clean: clean, corrupted: corrupted), metric: metric)
            .pathPatching(senders: [sender], receivers: [receiver])
    }

    /// Edge-level ACDC on one pair (KL to the clean run by default), pruned.
    public func acdc(clean: String, corrupted: String, threshold: Float, metric: MetricKind = .kl,
                     nodeLevel: Bool = false, progress: ((Int, Int) -> Void)? = nil) throws -> Circuit {
        try EdgePatching(model: model, pairs: try pair(clean: clean, corrupted: corrupted), metric: metric)
            .acdc(ACDCOptions(threshold: threshold, nodeLevel: nodeLevel), progress: progress).circuit.pruned()
    }
}
