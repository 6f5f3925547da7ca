import TestModels
import Foundation
import Reports

/// Real inputs for every view, computed on a small random GPT-2-like model whose vocabulary has hostile
/// token strings (markup, quotes, whitespace, control characters, the empty string).
enum Sample {
    static let vocabulary = ["<|endoftext|>", " When", " Mary", " and", " John", " went", " to", " the", " store", ",",
                             " gave", " a", " drink", "\n", "<script>alert(1)</script>", " & ", "\"quoted\"", "'", "\t",
                             " ", "", "\u{1b}[31m", " café"]
    static let clean = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 4, 10, 14, 16, 13]
    static let corrupted = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2, 10, 14, 16, 13]
    static let answer = 2, wrong = 4

    static func decode(_ token: Int) -> String { vocabulary[token] }

    static let model = TestModels.make(llama: false, layers: 4, dModel: 24, heads: 6, vocab: vocabulary.count, seed: 7)

    static func pairs() throws -> PromptPairs {
        try PromptPairs(clean: [clean, clean.reversed()], corrupted: [corrupted, corrupted.reversed()],
                        answers: [answer, wrong], wrongs: [wrong, answer])
    }

    static func attention() throws -> AttentionView {
        AttentionView(patterns: try model.attentionPatterns(TokenBatch([clean])), tokens: clean.map(decode))
    }

    static func logitLens() throws -> LogitLensView {
        LogitLensView(try model.logitLens(TokenBatch([clean]), topK: 4, target: answer), target: answer, decode: decode)
    }

    static func directLogitAttribution() throws -> DirectLogitAttribution {
        try model.directLogitAttribution(TokenBatch([clean, corrupted]), target: .difference(answer: answer, wrong: wrong))
    }

    static func patching() throws -> ActivationPatching {
        let pairs = try pairs()
        return try ActivationPatching(model: model, pairs: pairs, metric: .logitDifference(answers: pairs.answers, wrongs: pairs.wrongs))
    }

    /// Five-token pairs, for sweeps whose cost grows with the square of the length.
    static func shortPatching() throws -> ActivationPatching {
        let pairs = try PromptPairs(clean: [[0, 2, 3, 4, 14]], corrupted: [[0, 4, 3, 2, 14]], answers: [2], wrongs: [4])
        return try ActivationPatching(model: model, pairs: pairs, metric: .logitDifference(answers: pairs.answers, wrongs: pairs.wrongs))
    }

    /// A GPT-2-small-shaped graph with 300 random edges and random scores, to see the circuit view at scale.
    static func largeCircuit() -> Circuit {
        let graph = ComputationGraph(layerCount: 12, headCount: 12)
        var generator = SeededGenerator(seed: 5)
        let scores = Dictionary(uniqueKeysWithValues: graph.edges.map { ($0, Float.random(in: -1...1, using: &generator)) })
        var edges = Set<ComputationGraph.Edge>()
        while edges.count < 300 { edges.insert(graph.edges.randomElement(using: &generator)!) }
        return Circuit(graph: graph, edges: edges, scores: scores, metadata: ["method": "random"])
    }

    /// A circuit of `edgeCount` random edges on the graph of a 30-layer model with 9 query and 3 key-value
    /// heads (the shape of a 135M Llama-family model, 70,651 edges), with random scores except for
    /// `unscored` circuit edges that have none: the interactive circuit view at the size it is made for.
    static func deepCircuit(edgeCount: Int = 2_000, unscored: Int = 5, seed: UInt64 = 11) -> Circuit {
        let graph = ComputationGraph(layerCount: 30, headCount: 9, keyValueHeadCount: 3)
        var generator = SeededGenerator(seed: seed)
        var edges = Set<ComputationGraph.Edge>()
        while edges.count < edgeCount { edges.insert(graph.edges.randomElement(using: &generator)!) }
        let withoutScore = Set(edges.sorted { graph.name(of: $0) < graph.name(of: $1) }.prefix(unscored))
        var scores: [ComputationGraph.Edge: Float] = [:]
        for edge in graph.edges where !withoutScore.contains(edge) {
            // Heavy-tailed, as real attribution scores are: a few large, most small.
            scores[edge] = Float.random(in: -1...1, using: &generator) * pow(Float.random(in: 0...1, using: &generator), 4)
        }
        return Circuit(graph: graph, edges: edges, scores: scores, metadata: ["method": "random <b>&</b>", "selection": "top-\(edgeCount)"])
    }

    static func edgePatching() throws -> EdgePatching {
        try EdgePatching(model: model, pairs: try pairs(), metric: .logitDiff)
    }

    static func headScores() throws -> HeadScores {
        try model.headScores(TokenBatch([clean]), prefix: [0], length: 6, repeats: 2)
    }

    /// A report with every view.
    static func document() throws -> ReportDocument {
        let patching = try patching(), edges = try edgePatching()
        let scores = edges.edgeAttribution(integratedGradientSteps: 3)
        let circuit = Circuit.top(scores, count: 40).pruned()
        let sizes = [5, 10, 20, 40, 80, 160, 320]
        let tokens = clean.map(decode)
        var report = ReportDocument(title: "Sample report <small model> & \"hostile\" tokens",
                                    paragraphs: ["A random 4-layer, 6-head GPT-2-like model; every figure below is computed from it.",
                                                 "Tokens are shown with visible whitespace:\nspace ␣, newline ↵, tab ⇥."],
                                    details: [("model", "random gpt2-like, 4 layers × 6 heads"), ("prompt", tokens.joined())])
        report.addSection("Attention patterns", figures: [try attention()])
        report.addSection("Logit lens", figures: [try logitLens()])
        report.addSection("Direct logit attribution", figures: [DLAView(try directLogitAttribution(), targetLabel: "logit(␣Mary) − logit(␣John)")])
        report.addSection("Activation patching", paragraphs: ["Residual stream by layer and position, then heads."],
                          figures: [PatchingHeatmap(try patching.sweep(.residPre), tokens: tokens),
                                    PatchingHeatmap(try patching.sweep(.headOut)),
                                    PatchingHeatmap(try patching.sweep(.v, granularity: .byPosition), tokens: tokens),
                                    PatchingHeatmap(try shortPatching().sweep(.pattern, granularity: .destinationSource))])
        report.addSection("Circuit", figures: [CircuitView(circuit)])
        report.addSection("Circuit at GPT-2-small scale", paragraphs: ["300 random edges with random scores."],
                          figures: [CircuitView(largeCircuit())])
        report.addSection("Faithfulness", figures: [FaithfulnessView(curves: [
            ("EAP-IG", edges.faithfulnessCurve(scores, sizes: sizes)),
            ("EAP", edges.faithfulnessCurve(edges.edgeAttribution(), sizes: sizes)),
        ])])
        report.addSection("Head types", figures: [HeadScoresView(try headScores())])
        return report
    }
}
