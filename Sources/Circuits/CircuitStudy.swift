/// A complete look at one behaviour: predictions, logit lens, DLA, activation and attribution patching,
/// path patching between the key heads, ACDC and EAP-IG circuits with their faithfulness, and a role for
/// each head of the circuit, named from measurements.
///
/// ```swift
/// let study = try CircuitStudy.run(model: model, pairs: pairs, options: .init())
/// print(study.roles.map(\.summary))
/// ```
public struct CircuitStudy {
    public struct Options: Sendable {
        /// ACDC's τ (KL metric).
        public var acdcThreshold: Float = 0.02
        /// EAP-IG's interpolation steps.
        public var igSteps = 5
        /// Edges kept from the EAP-IG scores when no faithfulness target is set.
        public var eapEdges = 60
        /// When set, the EAP-IG circuit is the top-n one whose faithfulness reaches this (see
        /// ``FaithfulnessTarget``), searched over every size.
        public var targetFaithfulness: Float?
        /// With a faithfulness target: run ACDC on the candidate subgraph of the targeted EAP-IG circuit instead
        /// of the whole graph, halving τ (up to 8 times) until its circuit reaches the target too.
        public var acdcOnCandidates = false
        /// Circuit sizes of the faithfulness curve.
        public var curveSizes = [5, 10, 20, 40, 80, 160, 320]
        /// Examples used by the expensive steps (ACDC, EAP-IG, patching).
        public var maxExamples = 24
        public init() {}
    }

    /// What a head in the circuit does, from measurements.
    public struct HeadRole: Codable {
        public let head: String
        public internal(set) var role: String
        /// Mean DLA (answer − wrong) at the read position.
        public let directLogitAttribution: Float
        /// Mean attention from the read position to each labelled position.
        public let attentionToLabels: [String: Float]
        public let previousTokenScore: Float
        public let inductionScore: Float
        public let duplicateTokenScore: Float
        /// Normalized activation-patching effect of the head's output (denoising).
        public let patchingEffect: Float
        public var summary: String { "\(head): \(role)" }
    }

    public let accuracy: Float
    public let meanLogitDifference: Float
    public let logitLens: LogitLens
    public let dla: DirectLogitAttribution
    public let residPatching: PatchingResult
    public let headPatching: PatchingResult
    public let attribution: [PatchingResult]
    public let pathPatching: [PathPatchingResult]
    public let acdc: Circuit
    public let acdcFaithfulness: Float
    public let acdcTests: Int
    /// The τ of the reported ACDC circuit (lower than the option's when halved to reach a faithfulness target).
    public let acdcThreshold: Float
    /// Whether ACDC ran on the targeted EAP-IG circuit's edges only.
    public let acdcOnCandidates: Bool
    /// Where the ACDC circuit stands against the faithfulness target, in one plain sentence; nil without a target.
    /// ACDC's faithfulness is on its own metric (KL), the target's on the logit difference of EAP-IG's search.
    public var acdcTargetSummary: String? {
        guard let target = eapTarget?.target else { return nil }
        if acdcFaithfulness >= target { return "reaches the \(target) target" }
        if acdcOnCandidates { return "below the \(target) target even at τ \(acdcThreshold) on the EAP-IG circuit's edges" }
        return "below the \(target) target at this τ (on the EAP-IG circuit's edges, --acdc-on-candidates halves τ until it reaches it)"
    }
    public let eap: Circuit
    public let eapFaithfulness: Float
    public let curve: FaithfulnessCurve
    /// The size search when a faithfulness target was given.
    public let eapTarget: FaithfulnessTarget?
    public let roles: [HeadRole]
    public let headScores: HeadScores
    /// `[layers, 1, heads, q, k]` patterns of the first clean prompt.
    public let patterns: Tensor
    public let pairs: PromptPairs

    /// The steps of ``run(model:pairs:options:headScorePrefix:progress:)``, in order.
    public static let steps = ["predictions", "logit lens and direct logit attribution", "activation patching",
                               "attribution patching", "ACDC", "EAP-IG", "faithfulness", "path patching and head roles"]

    /// Runs every step. `progress` hears each step as it starts (0 of its units done) and ends, and the inner
    /// counts of the long ones: activation patching's cells, ACDC's tests (done out of done + edges left to
    /// visit), EAP-IG's steps and the faithfulness curve's circuits.
    public static func run(model: TransformerModel, pairs allPairs: PromptPairs, options: Options = Options(),
                           headScorePrefix: [Int] = [], progress: ProgressReporter = .silent) throws -> CircuitStudy {
        var current = ""
        func step(_ name: String) {
            if !current.isEmpty { progress.report(current, done: 1, total: 1, unit: "") }
            current = name
            progress.report(name, done: 0, total: 1, unit: "")
        }
        let pairs = try allPairs.prefix(options.maxExamples)
        let read = pairs.readPositions
        step("predictions")
        let differences = pairs.logitDifferences(of: model)
        let accuracy = Float(differences.filter { $0 > 0 }.count) / Float(pairs.count)
        let first = TokenBatch([Array(pairs.clean.tokens[0][...read[0]])])

        step("logit lens and direct logit attribution")
        let lens = try model.logitLens(first, topK: 5, target: pairs.answers[0])
        let dla = try DirectLogitAttribution.mean(model: model, pairs: pairs)

        step("activation patching")
        let logitDiff = Metric.logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)
        let patching = try ActivationPatching(model: model, pairs: pairs, metric: logitDiff)
        // Cells of both sweeps: one per layer and position, then one per layer and head.
        let residCells = model.layerCount * pairs.length, cells = residCells + model.layerCount * model.headCount
        let resid = try patching.sweep(.residPre) { done, _ in progress.report("activation patching", done: done, total: cells, unit: "cells") }
        let heads = try patching.sweep(.headOut) { done, _ in
            progress.report("activation patching", done: residCells + done, total: cells, unit: "cells")
        }
        step("attribution patching")
        let attribution = try AttributionPatching(model: model, pairs: pairs, metric: logitDiff, direction: .noising)
            .attribute([.residPre, .headOut])

        let kl = try EdgePatching(model: model, pairs: pairs, metric: .kl)
        try kl.faithfulnessSpan.check(metric: "kl", zeroLabel: "with every edge patched")
        let onCandidates = options.acdcOnCandidates && options.targetFaithfulness != nil
        var acdcResult: ACDCResult?
        if !onCandidates {
            step("ACDC")
            acdcResult = kl.acdc(ACDCOptions(threshold: options.acdcThreshold), progress: progress.counter("ACDC", unit: "tests"))
        }
        step("EAP-IG")
        let edges = kl.measured(by: .logitDiff)
        try edges.faithfulnessSpan.check(metric: "logit_diff", zeroLabel: "with every edge patched")
        let scores = try edges.edgeAttribution(.eapIGInputs(steps: options.igSteps), progress: ProgressReporter { update in
            progress.report("EAP-IG", done: update.done, total: update.total, unit: "steps")
        })
        step("faithfulness")
        let sizes = options.curveSizes.filter { $0 < edges.graph.edges.count }
        let curve = edges.faithfulnessCurve(scores, sizes: sizes)
        let target = options.targetFaithfulness.map {
            edges.circuit(reaching: $0, scores: scores, known: curve.points, progress: progress)
        }
        let eap = target.map { $0.circuit ?? Circuit.top(scores, count: $0.maxSize).pruned() }
            ?? Circuit.top(scores, count: options.eapEdges).pruned()
        var acdcThreshold = options.acdcThreshold
        if onCandidates, let target = options.targetFaithfulness {
            step("ACDC")
            for attempt in 0..<8 {
                let acdcOptions = ACDCOptions(threshold: acdcThreshold)
                let start = ACDCState(patching: kl, options: acdcOptions, candidates: eap.edges)
                let result = try kl.acdcEdges(acdcOptions, resumingFrom: start, progress: progress.counter("ACDC", unit: "tests")).result
                acdcResult = result
                if kl.faithfulness(of: result.circuit.pruned()) >= target || attempt == 7 { break }
                acdcThreshold /= 2
            }
        }
        let acdc = acdcResult!.circuit.pruned()

        step("path patching and head roles")
        let patterns = try model.attentionPatterns(first)
        let headScores = try model.headScores(first, patterns: patterns, prefix: headScorePrefix)
        // Roles are named for the heads of the larger of the chosen circuit and the top-eapEdges one.
        let roleCircuit = eap.edges.count >= options.eapEdges ? eap : Circuit.top(scores, count: options.eapEdges).pruned()
        let roles = try headRoles(model: model, pairs: pairs, circuit: roleCircuit, dla: dla, headPatching: heads, scores: headScores)
        let keyHeads = roles.prefix(4).map(\.head)
        var pathSets: [(senders: [String], receivers: [String])] = []
        for sender in keyHeads {
            for receiver in keyHeads + ["logits"] where sender != receiver {
                guard let s = edges.graph.senders.first(where: { $0.name == sender }) else { continue }
                let targets = receiver == "logits" ? [ComputationGraph.Receiver.logits]
                    : edges.graph.senders.first(where: { $0.name == receiver }).map(edges.graph.inputs(of:)) ?? []
                for target in targets where edges.graph.contains(.init(sender: s, receiver: target)) {
                    pathSets.append(([sender], [target.name(groupedQuery: edges.graph.groupedQuery)]))
                }
            }
        }
        let paths = try edges.pathPatching(pathSets)
        progress.report(current, done: 1, total: 1, unit: "")
        return CircuitStudy(accuracy: accuracy, meanLogitDifference: differences.reduce(0, +) / Float(pairs.count),
                            logitLens: lens, dla: dla, residPatching: resid, headPatching: heads, attribution: attribution,
                            pathPatching: paths, acdc: acdc, acdcFaithfulness: kl.faithfulness(of: acdc),
                            acdcTests: acdcResult!.testCount, acdcThreshold: acdcThreshold, acdcOnCandidates: onCandidates, eap: eap, eapFaithfulness: target?.faithfulness ?? edges.faithfulness(of: eap),
                            curve: curve, eapTarget: target, roles: roles, headScores: headScores, patterns: patterns, pairs: pairs)
    }

    /// A role for each head of the circuit that matters (a tenth of the largest |DLA| or a normalized patching
    /// effect of at least 0.05), strongest direct effect first.
    static func headRoles(model: TransformerModel, pairs: PromptPairs, circuit: Circuit, dla: DirectLogitAttribution,
                          headPatching: PatchingResult, scores: HeadScores) throws -> [HeadRole] {
        let (_, cache) = try model.runWithCache(pairs.clean, filter: .kinds([.pattern]), logitPositions: .none)
        let read = pairs.readPositions
        let maxDLA = dla.headContributions.scalars.map(Swift.abs).max() ?? 1
        let normalizedPatching = headPatching.normalized
        let kinds = labelKinds(pairs)
        var roles: [HeadRole] = []
        for node in circuit.nodes {
            guard let sender = circuit.graph.senders.first(where: { $0.name == node }), case let .head(l, h) = sender else { continue }
            let pattern = try cache.activation("pattern", layer: l)                // [batch, heads, q, k]
            var attention: [String: Float] = [:]
            for (label, positions) in pairs.positionLabels {
                attention[label] = (0..<pairs.count).map { b in pattern[b, h, read[b], positions[b]] }.reduce(0, +) / Float(pairs.count)
            }
            var role = HeadRole(
                head: node, role: "", directLogitAttribution: dla.headContributions[l, h], attentionToLabels: attention,
                previousTokenScore: scores.scores[.previousToken]![l, h], inductionScore: scores.scores[.induction]![l, h],
                duplicateTokenScore: scores.scores[.duplicateToken]![l, h],
                patchingEffect: normalizedPatching[l * model.headCount + h])
            guard Swift.abs(role.directLogitAttribution) >= 0.1 * maxDLA || Swift.abs(role.patchingEffect) >= 0.05 else { continue }
            role.role = describe(role, maxDLA: maxDLA, kinds: kinds)
            roles.append(role)
        }
        return roles.sorted { Swift.abs($0.directLogitAttribution) > Swift.abs($1.directLogitAttribution) }
    }

    /// What a labelled position holds in most clean prompts: the answer token, the wrong token, or neither.
    enum LabelKind { case answer, wrong, other }

    static func labelKinds(_ pairs: PromptPairs) -> [String: LabelKind] {
        pairs.positionLabels.mapValues { positions in
            let tokens = (0..<pairs.count).map { pairs.clean.tokens[$0][positions[$0]] }
            let answers = zip(tokens, pairs.answers).filter { $0 == $1 }.count
            let wrongs = zip(tokens, pairs.wrongs).filter { $0 == $1 }.count
            if 2 * answers > pairs.count { return .answer }
            if 2 * wrongs > pairs.count { return .wrong }
            return .other
        }
    }

    /// Names a head's role from its measurements: where it looks from the answer position, what it writes.
    static func describe(_ r: HeadRole, maxDLA: Float, kinds: [String: LabelKind]) -> String {
        let dla = String(format: "%+.2f", r.directLogitAttribution)
        let focus = r.attentionToLabels.max { $0.value < $1.value }.flatMap { $0.value >= 0.3 ? $0 : nil }
        let looks = focus.map { " (attention \(String(format: "%.2f", $0.value)))" } ?? ""
        let direct = Swift.abs(r.directLogitAttribution) >= 0.25 * maxDLA
        switch (direct, r.directLogitAttribution > 0, focus.map { kinds[$0.key] ?? .other }) {
        case (true, true, .answer?):
            return "mover: attends from the answer position to \(focus!.key), which holds the answer, and copies it to the output (DLA \(dla))\(looks)"
        case (true, true, .wrong?):
            return "wrong-answer suppressor: attends to \(focus!.key), which holds the wrong answer, and pushes it down (DLA \(dla))\(looks)"
        case (true, false, .answer?):
            return "negative mover: attends to \(focus!.key), which holds the answer, and writes against it (DLA \(dla))\(looks)"
        case (true, true, _):
            return "raises the answer over the wrong token directly (DLA \(dla))" + (focus.map { ", attending to \($0.key)" } ?? "") + looks
        case (true, false, _):
            return "writes against the answer directly (DLA \(dla))" + (focus.map { ", attending to \($0.key)" } ?? "") + looks
        default:
            break
        }
        let kind = [("induction", r.inductionScore), ("duplicate-token", r.duplicateTokenScore), ("previous-token", r.previousTokenScore)]
            .first { $0.1 > 0.4 }
        let base = kind.map { "\($0.0) head (score \(String(format: "%.2f", $0.1)))" } ?? "indirect: acts through later components"
        return base + " (patching effect \(String(format: "%.2f", r.patchingEffect)))" + (focus.map { ", attending to \($0.key)" } ?? "") + looks
    }
}

extension PromptPairs {
    /// The first `count` examples.
    public func prefix(_ count: Int) throws -> PromptPairs {
        guard count < self.count else { return self }
        let lengths = clean.mask.prefix(count).map { $0.filter { $0 }.count }
        return try PromptPairs(clean: zip(clean.tokens.prefix(count), lengths).map { Array($0.prefix($1)) },
                               corrupted: zip(corrupted.tokens.prefix(count), lengths).map { Array($0.prefix($1)) },
                               answers: Array(answers.prefix(count)), wrongs: Array(wrongs.prefix(count)),
                               positionLabels: positionLabels.mapValues { Array($0.prefix(count)) })
    }
}
