import ArgumentParser
import Circuits
import Foundation

/// Training recipes of `interp train --recipe`.
enum TrainRecipe: String, ExpressibleByArgument, CaseIterable {
    case knownCircuit = "known-circuit"
}

extension TrainCommand {
    /// `interp train --recipe known-circuit`: the model of ``KnownCircuitRecipe``, with its task and true circuit.
    func trainKnownCircuit() throws {
        let options = KnownCircuitRecipe.Options(steps: steps ?? 600, seed: seed)
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
        print("known-circuit: held-out accuracy \(Output.number(100 * pairs.accuracy(of: result.model), digits: 1))%; "
              + "true circuit (\(truth.count) of \(patching.graph.edges.count) edges) faithfulness \(Output.number(faithfulness[0])), "
              + "without it \(Output.number(faithfulness[1]))")
        let exact = try patching.edgeAttribution(.exact)
        let inside = truth.map { abs(exact[$0]) }.min() ?? 0
        let outside = patching.graph.edges.filter { !truth.contains($0) }.map { abs(exact[$0]) }.max() ?? 0
        print("edge effects (logit difference): smallest true edge \(Output.number(inside)), largest other edge \(Output.number(outside))")
        print("trained \(options.steps) steps in \(Output.number(Float(Date().timeIntervalSince(started)), digits: 1)) s; "
              + "model, task.json and circuit.json in \(output.path)")
    }
}
