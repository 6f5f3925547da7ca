import ArgumentParser
import Circuits
import Foundation
import Reports

/// `interp trace`: the activations of one run.
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace", abstract: "Run a prompt and show its cached activations (shape and statistics).",
        discussion: """
        Examples:
          interp trace --model ~/models/gpt2 --prompt "Hello world" --match resid_post
          interp trace --prompt "Hello world" --hook blocks.0.attn.hook_pattern --values --json
        """)

    @OptionGroup var model: ModelOptions
    @Option(help: "The prompt.") var prompt: String
    @Option(name: .customLong("hook"), help: "Cache only these hook points (any accepted spelling); repeatable.") var hooks: [String] = []
    @Option(help: "Cache only hook points whose name contains this text.") var match: String?
    @Flag(help: "With --json, include the full activation values.") var values = false
    @OptionGroup var interventions: InterventionOptions
    @OptionGroup var output: OutputOptions

    struct Activation: Encodable {
        let name: String, shape: [Int], mean: Float, std: Float, min: Float, max: Float, values: [Float]?
    }

    func run() throws {
        let lm = try model.load()
        let filter: ActivationFilter = !hooks.isEmpty ? .names(hooks) : match.map { text in .matching { $0.contains(text) } } ?? .all
        let ids = try lm.tokens(prompt)
        let (_, traced) = try lm.model.run(TokenBatch([ids]), interventions: try interventions.interventions(for: lm, positions: ids.count),
                                           cacheFilter: filter)
        let cache = traced!
        let rows = lm.model.hookNames.compactMap { name -> Activation? in
            guard let tensor = cache.activations[name] else { return nil }
            let finite = tensor.scalars.filter(\.isFinite)
            let mean = finite.reduce(0, +) / Float(Swift.max(finite.count, 1))
            let std = (finite.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(Swift.max(finite.count, 1))).squareRoot()
            return Activation(name: name, shape: tensor.shape, mean: mean, std: std, min: finite.min() ?? 0,
                              max: finite.max() ?? 0, values: values ? tensor.scalars : nil)
        }
        if output.json { return try Output.json(["activations": rows]) }
        for row in rows {
            let shape = "[" + row.shape.map(String.init).joined(separator: ", ") + "]"
            print(row.name.padding(toLength: 36, withPad: " ", startingAt: 0) + shape.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + "mean \(Output.number(row.mean))  std \(Output.number(row.std))")
        }
        print("\(rows.count) activations, \(cache.byteCount / 1024) KiB")
    }
}

/// `interp lens`: the logit lens.
struct LensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lens", abstract: "Logit lens: the prediction read off the residual stream at every layer.",
        discussion: "Example: interp lens --model ~/models/gpt2 --prompt \"The Eiffel Tower is in\" --target \" Paris\"")

    @OptionGroup var model: ModelOptions
    @Option(help: "The prompt.") var prompt: String
    @Option(help: "A token to track (rank and probability per layer).") var target: String?
    @Option(help: "Position to read (negative counts from the end).") var position = -1
    @Option(name: .customLong("top-k"), help: "Top tokens per layer.") var topK = 5
    @OptionGroup var html: HTMLOptions
    @OptionGroup var output: OutputOptions

    struct Row: Encodable { let layer: String; let top: [String]; let probabilities: [Float]; let targetRank: Int?; let targetProbability: Float? }

    func run() throws {
        let lm = try model.load()
        let ids = try lm.tokens(prompt)
        let target = try self.target.map { try lm.singleToken($0, role: "--target") }
        try checkPosition(position, length: ids.count)
        let lens = try lm.model.logitLens(TokenBatch([ids]), position: position, topK: topK, target: target)
        let rows = lens.layers.map { layer in
            Row(layer: layer.label, top: layer.topTokens.map { lm.text(of: $0.token) }, probabilities: layer.topTokens.map(\.probability),
                targetRank: layer.targetRank, targetProbability: layer.targetProbability)
        }
        if let path = html.html { try Views.write(lens: lens, target: target, lm: lm, tokens: ids, to: path) }
        if output.json { return try Output.json(["layers": rows]) }
        for row in rows {
            let top = zip(row.top, row.probabilities).map { "\(Markup.visibleToken($0)) \(Output.number($1, digits: 3))" }.joined(separator: "  ")
            let tracked = row.targetRank.map { "   target rank \($0), p \(Output.number(row.targetProbability!, digits: 4))" } ?? ""
            print(row.layer.padding(toLength: 11, withPad: " ", startingAt: 0) + top + tracked)
        }
    }
}

/// `interp dla`: direct logit attribution.
struct DLACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dla", abstract: "Direct logit attribution per head, MLP and embedding; contributions sum to the logit.",
        discussion: """
        Examples:
          interp dla --model ~/models/gpt2 --prompt "The capital of France is"
          interp dla --prompt "When Mary and John went to the store, John gave a drink to" --answer " Mary" --wrong " John"
        """)

    @OptionGroup var model: ModelOptions
    @Option(help: "The prompt.") var prompt: String
    @Option(help: "The token to attribute (default: the top prediction).") var target: String?
    @Option(help: "Attribute answer minus wrong: the answer token.") var answer: String?
    @Option(help: "Attribute answer minus wrong: the wrong token.") var wrong: String?
    @Option(help: "Position to read (negative counts from the end).") var position = -1
    @Option(help: "How many components to list.") var top = 15
    @OptionGroup var html: HTMLOptions
    @OptionGroup var output: OutputOptions

    struct Component: Encodable { let label: String; let contribution: Float }
    struct Result: Encodable { let target: String; let logit: Float; let sum: Float; let biasTerm: Float; let components: [Component] }

    func validate() throws {
        if (answer == nil) != (wrong == nil) { throw ValidationError("give both --answer and --wrong") }
        if target != nil && answer != nil { throw ValidationError("give --target or --answer/--wrong, not both") }
    }

    func run() throws {
        let lm = try model.load()
        let ids = try lm.tokens(prompt)
        try checkPosition(position, length: ids.count)
        let logitTarget: LogitTarget
        if let answer, let wrong {
            logitTarget = .difference(answer: try lm.singleToken(answer, role: "--answer"), wrong: try lm.singleToken(wrong, role: "--wrong"))
        } else if let target {
            logitTarget = .token(try lm.singleToken(target, role: "--target"))
        } else {
            logitTarget = .predicted
        }
        let dla = try lm.model.directLogitAttribution(TokenBatch([ids]), target: logitTarget, position: position)
        let components = zip(dla.labels, dla.contributions.scalars).map { Component(label: $0, contribution: $1) }
        let name: String
        if case let .difference(a, w) = logitTarget { name = "\(lm.text(of: a)) − \(lm.text(of: w))" } else { name = lm.text(of: dla.targets[0]) }
        let result = Result(target: name, logit: dla.logits[0], sum: dla.totals[0], biasTerm: dla.biasTerm[0], components: components)
        if let path = html.html { try Views.write(dla: dla, title: name, to: path) }
        if output.json { return try Output.json(result) }
        let logitName = dla.logitSoftcap.map { "logit before the final soft-cap (\(Output.number($0)))" } ?? "logit"
        print("target \(Markup.visibleToken(name)): \(logitName) \(Output.number(result.logit)), sum of contributions + bias \(Output.number(result.sum)) (bias term \(Output.number(result.biasTerm)))")
        for c in components.sorted(by: { Swift.abs($0.contribution) > Swift.abs($1.contribution) }).prefix(top) {
            print("  " + c.label.padding(toLength: 14, withPad: " ", startingAt: 0) + Output.number(c.contribution))
        }
    }
}

/// `interp attention`: attention patterns and head types.
struct AttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention", abstract: "Attention patterns of a prompt and head-type scores (previous-token, induction, duplicate, first-token).",
        discussion: "Example: interp attention --model ~/models/gpt2 --prompt \"The cat sat on the mat\" --layer 5 --head 1 --html attention.html")

    @OptionGroup var model: ModelOptions
    @Option(help: "The prompt.") var prompt: String
    @Option(help: "Show this layer's pattern.") var layer: Int?
    @Option(help: "Show this head's pattern (with --layer).") var head: Int?
    @Option(help: "Score threshold for listing heads of each type.") var threshold: Float = 0.4
    @OptionGroup var html: HTMLOptions
    @OptionGroup var output: OutputOptions

    struct ScoredHead: Encodable { let layer: Int; let head: Int; let score: Float }

    func run() throws {
        let lm = try model.load()
        let ids = try lm.tokens(prompt)
        let batch = TokenBatch([ids])
        let patterns = try lm.model.attentionPatterns(batch)                 // [L, 1, H, Q, K]
        let prefix = lm.tokenizer.bosTokenID.map { [$0] } ?? []
        let scores = try lm.model.headScores(batch, patterns: patterns, prefix: prefix)
        var kinds: [String: [ScoredHead]] = [:]
        for kind in HeadKind.allCases {
            kinds[kind.rawValue] = scores.heads(kind, threshold: threshold).map { ScoredHead(layer: $0.layer, head: $0.head, score: $0.score) }
        }
        var pattern: [[Float]]?
        if let layer {
            let l = try lm.model.hookNameResolver.resolveLayer(layer, in: "--layer")
            let h = head ?? 0
            guard h >= 0 && h < lm.model.headCount else { throw CLIError("--head \(h) is out of range: the model has \(lm.model.headCount) heads") }
            let matrix = patterns.select(axis: 0, l).select(axis: 0, 0).select(axis: 0, h)
            pattern = (0..<ids.count).map { q in Array(matrix.scalars[(q * ids.count)..<((q + 1) * ids.count)]) }
        }
        if let path = html.html { try Views.write(patterns: patterns, scores: scores, tokens: ids.map(lm.text(of:)), to: path) }
        if output.json {
            struct Result: Encodable { let tokens: [String]; let headTypes: [String: [ScoredHead]]; let pattern: [[Float]]? }
            return try Output.json(Result(tokens: ids.map(lm.text(of:)), headTypes: kinds, pattern: pattern))
        }
        for kind in HeadKind.allCases {
            let list = kinds[kind.rawValue]!.prefix(8).map { "L\($0.layer)H\($0.head) \(Output.number($0.score, digits: 2))" }
            print(kind.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0) + (list.isEmpty ? "none above \(threshold)" : list.joined(separator: "  ")))
        }
        if let pattern {
            print("\npattern of L\(layer!)H\(head ?? 0) (rows: query, columns: key)")
            for (q, row) in pattern.enumerated() {
                print(Markup.visibleToken(lm.text(of: ids[q])).padding(toLength: 12, withPad: " ", startingAt: 0)
                      + row.prefix(q + 1).map { String(format: "%5.2f", $0) }.joined(separator: " "))
            }
        }
    }
}

/// Rejects a position outside a prompt.
func checkPosition(_ position: Int, length: Int) throws {
    guard position >= -length && position < length else {
        throw CLIError("--position \(position) is outside the prompt of \(length) tokens (use 0..<\(length) or -\(length)...-1)")
    }
}
