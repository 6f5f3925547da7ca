import ArgumentParser
import Circuits
import Foundation

/// Training recipes of `interp train --recipe`.
enum TrainRecipe: String, ExpressibleByArgument, CaseIterable {
    case knownCircuit = "known-circuit"
    case lookupCircuit = "lookup-circuit"

    /// The recipe's model and training run (`steps` and `seed` from the command line).
    func options(steps: Int?, seed: UInt64) -> KnownCircuitRecipe.Options {
        switch self {
        case .knownCircuit: return KnownCircuitRecipe.Options(steps: steps ?? 600, seed: seed)
        case .lookupCircuit: return KnownCircuitRecipe.Options(task: .lookup, symbols: 4, length: 5, steps: steps ?? 1500, seed: seed)
        }
    }
}

extension TrainCommand {
    /// `interp train --recipe known-circuit|lookup-circuit`: the model of ``KnownCircuitRecipe``, with its task and
    /// true circuit.
    func trainKnownCircuit(_ recipe: TrainRecipe) throws {
        let options = recipe.options(steps: steps, seed: seed)
        let bar = ProgressBar("training")
        let started = Date()
        let result = try KnownCircuitRecipe.train(options) { step, loss in
            bar.update(step, of: options.steps)
            if step % 100 == 0 || step == options.steps {
                FileHandle.standardError.write(Data(String(format: "  step %d  loss %.4f\n", step, loss).utf8))
            }
        }
        let output = URL(fileURLWithPath: out)
        try result.save(to: output)
        let pairs = try result.pairs(count: 64, seed: options.seed &+ 1)
        let patching = try EdgePatching(model: result.model, pairs: pairs, metric: .logitDiff)
        let truth = result.trueEdges(in: patching.graph)
        let faithfulness = patching.faithfulness(ofEdgeSets: [truth, Set(patching.graph.edges).subtracting(truth)])
        print("\(recipe.rawValue): held-out accuracy \(Output.number(100 * pairs.accuracy(of: result.model), digits: 1))%; "
              + "true circuit (\(truth.count) of \(patching.graph.edges.count) edges) faithfulness \(Output.number(faithfulness[0])), "
              + "without it \(Output.number(faithfulness[1]))")
        let exact = try patching.edgeAttribution(.exact)
        let weakest = truth.min { abs(exact[$0]) < abs(exact[$1]) }!
        let nearest = patching.graph.edges.filter { !truth.contains($0) }.max { abs(exact[$0]) < abs(exact[$1]) }!
        print("edge effects (logit difference): smallest true edge \(Output.number(abs(exact[weakest]))) "
              + "(\(patching.graph.name(of: weakest))), largest other edge \(Output.number(abs(exact[nearest]))) "
              + "(\(patching.graph.name(of: nearest)))")
        warnUnlessCarried(faithfulness: faithfulness[0], circuitFile: output.appendingPathComponent("circuit.json").path,
                          advice: "train longer (--steps) or with another --seed")
        print("trained \(options.steps) steps in \(Output.number(Float(Date().timeIntervalSince(started)), digits: 1)) s; "
              + "model, task.json and circuit.json in \(output.path)")
    }
}

/// The faithfulness a known-circuit model's designated edges must reach for them to count as its circuit.
let knownCircuitFaithfulness: Float = 0.8

/// Warns on standard error when a known-circuit model's designated edges (`circuitFile`) do not carry its task: the
/// model then solves it another way (interchange training can sit on a plateau, for a number of steps that depends
/// on the seed), so scoring methods by how well they recover those edges measures nothing.
func warnUnlessCarried(faithfulness: Float, circuitFile: String, advice: String) {
    guard !(faithfulness >= knownCircuitFaithfulness) else { return }
    FileHandle.standardError.write(Data(("warning: the edges of \(circuitFile) reach faithfulness \(Output.number(faithfulness)) "
        + "(below \(knownCircuitFaithfulness)): they are not this model's circuit; \(advice)\n").utf8))
}
