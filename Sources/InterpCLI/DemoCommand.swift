import ArgumentParser
import Circuits
import Foundation

/// `interp demo`: the whole toolkit on one behaviour, with a report.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Find and explain the circuit behind a behaviour, and write an HTML report.",
        discussion: """
        With no arguments: the embedded IOI model and its task. Otherwise any model and task file:
          interp demo --model ~/models/gpt2 --task ioi.json --out gpt2-report
        """)

    @OptionGroup var model: ModelOptions
    @Option(help: ArgumentHelp("A task file (default: the embedded model's task).", valueName: "file")) var task: String?
    @Option(help: ArgumentHelp("Report directory.", valueName: "dir")) var out = "interp-report"
    @Option(help: "ACDC threshold τ (KL).") var threshold: Float = 0.02
    @Option(help: "Edges kept from EAP-IG with --target-faithfulness 0.") var edges = 60
    @Option(help: "Keep the smallest top-n EAP-IG circuit reaching this faithfulness (0: exactly --edges).")
    var targetFaithfulness: Float = 0.8
    @Flag(help: "Run ACDC on the targeted EAP-IG circuit's edges only, halving τ until it reaches the target too.")
    var acdcOnCandidates = false
    @Option(help: "Examples used by the analyses.") var examples = 24
    @Flag(help: "Print each step's wall-clock and CPU time on standard error at the end.") var timings = false
    @Option(help: "Worker threads (default: all active cores); with --threads 1, --timings' CPU times are the work itself.")
    var threads: Int?
    @OptionGroup var view: CircuitViewOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if model.model != nil && task == nil { throw ValidationError("with --model, give --task FILE too") }
        if threshold < 0 { throw ValidationError("--threshold must not be negative") }
        if edges < 1 || examples < 1 { throw ValidationError("--edges and --examples must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let started = Date()
        let times = StepTimes()
        times.enter("loading the model and task")
        let lm = try model.load()
        let taskURL = task.map { URL(fileURLWithPath: $0) } ?? EmbeddedModel.task
        let taskFile = try TaskFile(contentsOf: taskURL)
        let pairs = try taskFile.promptPairs(for: lm, source: taskURL.path)
        try PairOptions.checkCounterfactuals(pairs, source: taskURL.path)
        var options = CircuitStudy.Options()
        options.acdcThreshold = threshold
        options.eapEdges = edges
        options.targetFaithfulness = targetFaithfulness > 0 ? targetFaithfulness : nil
        options.acdcOnCandidates = acdcOnCandidates
        options.maxExamples = examples
        let bar = ProgressBar("demo", forced: output.progress)
        let study = try CircuitStudy.run(model: lm.model, pairs: pairs, options: options,
                                         headScorePrefix: lm.tokenizer.bosTokenID.map { [$0] } ?? [], progress: times.reporter(passingTo: bar.reporter))
        bar.finish()
        times.enter("writing the report")
        var acdc = study.acdc, eap = study.eap
        acdc.metadata["faithfulness"] = Output.number(study.acdcFaithfulness)
        eap.metadata["faithfulness"] = Output.number(study.eapFaithfulness)
        let directory = URL(fileURLWithPath: out)
        try Output.write(try acdc.jsonData(), to: directory.appendingPathComponent("acdc-circuit.json").path)
        try Output.write(try eap.jsonData(), to: directory.appendingPathComponent("eap-ig-circuit.json").path)
        let report = directory.appendingPathComponent("index.html").path
        try Views.write(study: study, lm: lm, task: taskFile.task, circuitStyle: view.style, to: report)
        let seconds = Date().timeIntervalSince(started)
        times.finish()
        if timings { FileHandle.standardError.write(Data((times.summary + "\n").utf8)) }
        if output.json {
            struct Summary: Encodable {
                let accuracy: Float, meanLogitDifference: Float, acdcEdges: Int, acdcFaithfulness: Float, eapEdges: Int
                let eapFaithfulness: Float, totalEdges: Int, roles: [CircuitStudy.HeadRole], report: String, seconds: Double
            }
            return try Output.json(Summary(accuracy: study.accuracy, meanLogitDifference: study.meanLogitDifference,
                                           acdcEdges: acdc.edges.count, acdcFaithfulness: study.acdcFaithfulness,
                                           eapEdges: eap.edges.count, eapFaithfulness: study.eapFaithfulness,
                                           totalEdges: eap.graph.edges.count, roles: study.roles, report: report, seconds: seconds))
        }
        print("""
        \(lm.directory.lastPathComponent) on \(taskFile.task): accuracy \(Output.number(100 * study.accuracy, digits: 1))%, mean logit difference \(Output.number(study.meanLogitDifference, digits: 2)) over \(study.pairs.count) examples
        ACDC (τ=\(study.acdcThreshold), KL\(study.acdcOnCandidates ? ", on the EAP-IG circuit's edges" : "")): \(acdc.edges.count) of \(acdc.graph.edges.count) edges, faithfulness \(Output.number(study.acdcFaithfulness, digits: 3))\(study.acdcTargetSummary.map { ", " + $0 } ?? "") (\(study.acdcTests) edges tested)
        EAP-IG (\(study.eapTarget?.summary ?? "top \(edges)")): \(eap.edges.count) edges after pruning, faithfulness \(Output.number(study.eapFaithfulness, digits: 3)); area under the faithfulness curve \(Output.number(study.curve.area, digits: 3))
        Heads and their roles:
        """)
        for role in study.roles.prefix(8) { print("  " + role.summary) }
        print("Report: \(report) (\(Output.number(Float(seconds), digits: 1)) s)")
    }
}
