import TestModels
import Testing
import Circuits

/// The circuit size chosen by faithfulness is a crossing: f(n) ≥ target and f(n − 1) < target, with f the
/// faithfulness of the pruned top-n circuit, recomputed here independently of the search.
@Suite struct FaithfulnessTargetTests {
    func patching() throws -> (EdgePatching, EdgeScores) {
        let pairs = try BatchedACDCTests.pairs()
        let patching = try EdgePatching(model: TestModels.make(llama: true, layers: 3, kvHeads: 2), pairs: pairs, metric: .logitDiff)
        return (patching, patching.edgeAttribution(integratedGradientSteps: 3))
    }

    func f(_ patching: EdgePatching, _ scores: EdgeScores, _ n: Int) -> Float {
        patching.faithfulness(of: Circuit.top(scores, count: n).pruned())
    }

    @Test(arguments: [Float(0.5), 0.8, 0.95])
    func returnedSizeReachesTheTargetAndTheNextSmallerDoesNot(target: Float) throws {
        let (patching, scores) = try patching()
        let curve = patching.faithfulnessCurve(scores, sizes: [10, 40, 160])
        let found = patching.circuit(reaching: target, scores: scores, known: curve.points)
        let n = try #require(found.size, "\(found.summary)")
        #expect(n > 0 && found.reached)
        #expect(f(patching, scores, n) >= target && f(patching, scores, n - 1) < target, "n = \(n)")
        #expect(Swift.abs(found.faithfulness! - f(patching, scores, n)) < 1e-5)
        #expect(found.circuit!.edges == Circuit.top(scores, count: n).pruned().edges)
        // The curve's points are reused and reported with the sizes evaluated.
        #expect(Set(curve.points.map(\.edgeCount)).isSubset(of: Set(found.points.map(\.edgeCount))))
        #expect(found.summary.contains("top \(n) edges"))
    }

    /// The empty circuit's faithfulness is taken as 0 without a pass: a patched pass of it gives 0 too.
    @Test func theEmptyCircuitIsKnownWithoutAPass() throws {
        let (patching, scores) = try patching()
        let found = patching.circuit(reaching: 0.8, scores: scores)
        #expect(found.points.first { $0.edgeCount == 0 }?.faithfulness == 0)
        #expect(Swift.abs(f(patching, scores, 0)) < 1e-5)
    }

    @Test func anUnreachableTargetIsSaidPlainly() throws {
        let (patching, scores) = try patching()
        let found = patching.circuit(reaching: 0.999, scores: scores, maxSize: 2)
        #expect(f(patching, scores, 2) < 0.999)
        #expect(!found.reached && found.circuit == nil)
        #expect(found.summary.hasPrefix("no circuit of up to 2 edges reaches faithfulness 0.999"))
    }
}
