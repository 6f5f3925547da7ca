import Circuits
import Foundation
import Reports

/// The HTML pages the commands write with `--html`, and the demo's report.
enum Views {
    static func write(lens: LogitLens, target: Int?, lm: LanguageModel, tokens: [Int], to path: String) throws {
        var page = ReportDocument(title: "Logit lens", details: [("model", lm.directory.lastPathComponent),
                                                                ("prompt", tokens.map(lm.text(of:)).joined())])
        page.addSection("Prediction by layer", figures: [LogitLensView(lens, target: target, decode: lm.text(of:))])
        try save(page, path)
    }

    static func write(dla: DirectLogitAttribution, title: String, to path: String) throws {
        var page = ReportDocument(title: "Direct logit attribution", details: [("target", title)])
        page.addSection("Contributions", figures: [DLAView(dla, targetLabel: title)])
        try save(page, path)
    }

    static func write(patterns: Tensor, scores: HeadScores, tokens: [String], to path: String) throws {
        var page = ReportDocument(title: "Attention")
        page.addSection("Patterns", figures: [AttentionView(patterns: patterns, tokens: tokens)])
        page.addSection("Head types", figures: [HeadScoresView(scores)])
        try save(page, path)
    }

    static func write(patching: [PatchingResult], normalized: Bool, to path: String) throws {
        var page = ReportDocument(title: "Patching")
        for result in patching {
            page.addSection("\(result.component) (\(result.direction), \(result.metric))",
                            figures: [PatchingHeatmap(result, values: normalized ? .normalized : .raw)])
        }
        try save(page, path)
    }

    static func write(circuit: Circuit, title: String, curve: FaithfulnessCurve? = nil, style: CircuitView.Style = .automatic,
                      to path: String) throws {
        var page = ReportDocument(title: "Circuit: \(title)", paragraphs: [circuit.summary()],
                                  details: circuit.metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        page.addSection("Graph", figures: [CircuitView(circuit, style: style)])
        if let curve { page.addSection("Faithfulness", figures: [FaithfulnessView(curve)]) }
        try save(page, path)
    }

    /// The demo's report: every analysis of the study, with the roles found explained in words.
    static func write(study: CircuitStudy, lm: LanguageModel, task: String, circuitStyle: CircuitView.Style = .automatic,
                      to path: String) throws {
        let firstLength = study.pairs.readPositions[0] + 1
        let firstIDs = Array(study.pairs.clean.tokens[0].prefix(firstLength))
        let tokens = firstIDs.map(lm.text(of:))
        let edges = study.eap.graph.edges.count
        var page = ReportDocument(
            title: "How \(lm.directory.lastPathComponent) does \(task)",
            paragraphs: [
                "The model answers \(String(format: "%.1f", 100 * study.accuracy))% of \(study.pairs.count) examples correctly "
                    + "(mean logit difference \(String(format: "%.2f", study.meanLogitDifference))).",
                "ACDC keeps \(study.acdc.edges.count) of \(edges) edges with faithfulness \(String(format: "%.3f", study.acdcFaithfulness))"
                    + (study.acdcTargetSummary.map { ", " + $0 } ?? "") + "; "
                    + "EAP-IG's top edges keep \(study.eap.edges.count) with faithfulness \(String(format: "%.3f", study.eapFaithfulness)).",
            ] + study.roles.prefix(8).map { "\($0.head) — \($0.role)." },
            details: [("model", lm.directory.path), ("task", task), ("first example", lm.tokenizer.decode(firstIDs, skipSpecialTokens: true)),
                      ("answer / wrong", "\(lm.text(of: study.pairs.answers[0])) / \(lm.text(of: study.pairs.wrongs[0]))")])
        page.addSection("Attention patterns (first example)", figures: [AttentionView(patterns: study.patterns, tokens: tokens)])
        page.addSection("Logit lens (first example)", figures: [LogitLensView(study.logitLens, target: study.pairs.answers[0], decode: lm.text(of:))])
        page.addSection("Direct logit attribution of answer − wrong (mean over examples)", figures: [DLAView(study.dla, targetLabel: "answer − wrong")])
        page.addSection("Activation patching (denoising, normalized logit difference)",
                        figures: [PatchingHeatmap(study.residPatching, tokens: tokens), PatchingHeatmap(study.headPatching)])
        page.addSection("Attribution patching (noising, estimated)", figures: study.attribution.map { PatchingHeatmap($0, tokens: tokens) })
        page.addSection("Path patching between the key heads",
                        paragraphs: study.pathPatching.map { "\($0.senders.joined(separator: ", ")) → \($0.receivers.joined(separator: ", ")): effect \(String(format: "%.3f", $0.effect))" })
        page.addSection("ACDC circuit (τ on KL)", figures: [CircuitView(study.acdc, style: circuitStyle)])
        page.addSection("EAP-IG circuit", figures: [CircuitView(study.eap, style: circuitStyle), FaithfulnessView(study.curve, label: "EAP-IG top-n")])
        page.addSection("Head types", figures: [HeadScoresView(study.headScores)])
        try save(page, path)
    }

    private static func save(_ page: ReportDocument, _ path: String) throws {
        do { try page.write(to: URL(fileURLWithPath: path)) } catch {
            throw CLIError("\(path): cannot be written (\(error))")
        }
    }
}
