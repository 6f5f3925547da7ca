import ArgumentParser
import Circuits
import Foundation

/// Options of `interp evaluate --mib`.
struct MIBOptions: ParsableArguments {
    @Flag(help: "MIB evaluation of the circuit file's edge scores: faithfulness at MIB's edge fractions, CPR and CMD.")
    var mib = false
    @Option(help: "With --mib: rank edges by absolute or signed score (default: both; CPR from signed, CMD from absolute, as MIB reports).")
    var ranking: EdgeRanking?
    @Option(help: ArgumentHelp("With --mib: a circuit file whose edges are the true circuit; prints the AUROC of the scores against it.",
                               valueName: "file"))
    var trueCircuit: String?
    @Flag(help: """
        With --mib: rank minus each score. MIB's importance files score the loss (larger = more important under signed \
        ranking); interp's EAP / EAP-IG score the metric itself, so their important edges are negative.
        """)
    var negateScores = false
}

extension EdgeRanking: ExpressibleByArgument {}

/// The printed and JSON output of `interp evaluate --mib`.
struct MIBReport: Encodable {
    let method: String?, metric: String, ablation: String
    let evaluation: MIBEvaluation
    let cpr: Double?, cmd: Double?
    /// Over every threshold (as scikit-learn), and as MIB reports it (greedy circuits at its fractions).
    let auroc: Double?, mibAUROC: Double?

    static func run(_ circuit: Circuit, from circuitPath: String, patching: EdgePatching, options: MIBOptions,
                    ablation: AblationArgument, json: Bool) throws {
        var scores: EdgeScores
        do { scores = try circuit.edgeScores() } catch let error as CircuitError { throw CLIError("\(circuitPath): \(error)") }
        if options.negateScores { scores = scores.negated() }
        var auroc: Double?, mibAUROC: Double?
        if let path = options.trueCircuit {
            let truth = try Circuit.read(from: URL(fileURLWithPath: path))
            guard truth.graph.edges == circuit.graph.edges else {
                throw CLIError("\(path): the true circuit's graph (\(truth.graph.layerCount) layers, \(truth.graph.headCount) heads) does not match the scored one")
            }
            do {
                auroc = try scores.roc(trueEdges: truth.edges, ranking: options.ranking ?? .absolute).area
                mibAUROC = try scores.mibROC(trueEdges: truth.edges).area
            } catch let error as CircuitError {
                throw CLIError("\(path): \(error)")
            }
        }
        let evaluation = patching.mibEvaluation(scores, rankings: options.ranking.map { [$0] } ?? EdgeRanking.allCases)
        let report = MIBReport(method: circuit.metadata["method"], metric: patching.metric.name,
                               ablation: ablation == .corrupted ? AblationArgument.counterfactual.rawValue : ablation.rawValue,
                               evaluation: evaluation, cpr: evaluation.cpr, cmd: evaluation.cmd, auroc: auroc, mibAUROC: mibAUROC)
        if json { return try Output.json(report) }
        report.print()
    }

    func print() {
        Swift.print("MIB evaluation\(method.map { " of \($0) scores" } ?? ""): \(evaluation.totalEdges) edges, metric \(metric), ablation \(ablation)")
        Swift.print("clean \(Output.number(evaluation.cleanValue)), all edges ablated \(Output.number(evaluation.emptyValue))")
        let pad = { (text: String, width: Int) in text.padding(toLength: width, withPad: " ", startingAt: 0) }
        Swift.print(pad("fraction", 10) + pad("edges", 8)
            + evaluation.curves.map { pad("kept (\($0.ranking.rawValue))", 17) + "faithfulness (\($0.ranking.rawValue))" }.joined(separator: "   "))
        for (i, fraction) in MIBCurve.fractions.enumerated() {
            var line = pad(String(format: "%g", fraction), 10) + pad("\(evaluation.curves[0].points[i].edgeCount)", 8)
            for curve in evaluation.curves {
                let point = curve.points[i]
                line += pad("\(point.keptEdges)", 17) + pad(Output.number(point.faithfulness == 0 ? 0 : point.faithfulness), 26)
            }
            Swift.print(line.replacingOccurrences(of: " +$", with: "", options: .regularExpression))
        }
        for curve in evaluation.curves {
            Swift.print(String(format: "%@ ranking: area under %.4f, area from 1 %.4f, average %.4f",
                               curve.ranking.rawValue, curve.areaUnder, curve.areaFromOne, curve.average))
        }
        if let cpr, let cmd {
            let single = evaluation.curves.count == 1 ? " (\(evaluation.curves[0].ranking.rawValue) ranking)" : " (CPR: signed ranking, CMD: absolute)"
            Swift.print(String(format: "CPR %.4f  CMD %.4f", cpr, cmd) + single)
        }
        if let auroc, let mibAUROC {
            Swift.print(String(format: "AUROC against the true circuit: %.4f (every threshold), %.4f (MIB: greedy circuits at its fractions)",
                               auroc, mibAUROC))
        }
    }
}
