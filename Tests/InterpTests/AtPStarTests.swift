import Foundation
import Testing
import Interp

/// AtP* on the two constructions where plain attribution patching fails (saturated attention, cancellation),
/// and against a torch/TransformerLens implementation on the tiny GPT-2 and grouped-query rotary Llama fixtures
/// (scripts/make_atp_star_references.py).
@Suite struct AtPStarTests {
    @Test func qkFixRecoversAKeyPatchThroughSaturatedAttention() throws {
        let atpStar = AtPStar(model: AtPStarModels.saturatedHead(), pairs: try AtPStarModels.saturatedPairs(),
                              metric: AtPStarModels.metric, options: .init(gradDrop: false))
        let result = try atpStar.attribute(exact: true)
        #expect(result.cleanValue.isApproximatelyEqual(to: 1) && result.corruptedValue.isApproximatelyEqual(to: -1))
        let key = try #require(result["a0.h0<k>"])
        #expect(try #require(key.exact).isApproximatelyEqual(to: -2), "moving the attention from +1 to −1")
        #expect(Swift.abs(key.atp) < 1e-6, "the saturated softmax hides the key from the gradient: \(key.atp)")
        #expect(try #require(key.atpQKFix).isApproximatelyEqual(to: -2))
        let head = try #require(result["a0.h0"])
        #expect(head.atp.isApproximatelyEqual(to: -2) && head.exact!.isApproximatelyEqual(to: -2), "the head output is linear")
        let comparisons = try #require(result.comparisons)
        #expect(comparisons.first { $0.estimator == "atp" }?.missed == ["a0.h0<k>"])
        #expect(comparisons.first { $0.estimator == "atp_qk_fix" }?.missed == [])
    }

    @Test func qkFixPerKeyPositionRecomputesEachQueryRow() throws {
        let atpStar = AtPStar(model: AtPStarModels.saturatedHead(), pairs: try AtPStarModels.saturatedPairs(),
                              metric: AtPStarModels.metric, options: .init(gradDrop: false, byPosition: true))
        let result = try atpStar.attribute(exact: true)
        // Key 0 patched: the last query splits between positions 0 and 1 (value 0); key 1 patched: uniform (value 0).
        for name in ["a0.h0<k>@0", "a0.h0<k>@1"] {
            let entry = try #require(result[name])
            #expect(entry.exact!.isApproximatelyEqual(to: -1) && entry.atpQKFix!.isApproximatelyEqual(to: -1), "\(name)")
            #expect(Swift.abs(entry.atp) < 1e-6, "\(name)")
        }
        #expect(Swift.abs(try #require(result["a0.h0<k>@2"]?.atpQKFix)) < 1e-6)
    }

    @Test func gradDropRevealsACancelledNode() throws {
        let atpStar = AtPStar(model: AtPStarModels.cancellation(), pairs: try AtPStarModels.cancellationPairs(),
                              metric: AtPStarModels.metric)
        let result = try atpStar.attribute(exact: true)
        let m0 = try #require(result["m0"]), m1 = try #require(result["m1"])
        #expect(Swift.abs(m0.atp) < 1e-4, "direct and indirect paths cancel to first order: \(m0.atp)")
        #expect(try #require(m0.exact).isApproximatelyEqual(to: -1))
        // Dropping layer 1 leaves MLP 0's direct path: |−2|; the undropped layer 0 adds |AtP| = 0.
        #expect(try #require(m0.gradDrop).isApproximatelyEqual(to: 2))
        #expect(m1.exact!.isApproximatelyEqual(to: 1) && m1.gradDrop!.isApproximatelyEqual(to: 2), "two layers, each |AtP| = 1")
        let comparisons = try #require(result.comparisons)
        #expect(comparisons.first { $0.estimator == "atp" }?.missed == ["m0"])
        #expect(comparisons.first { $0.estimator == "grad_drop" }?.missed == [])
    }

    @Test(arguments: ["gpt2", "llama_gqa"], [false, true]) func matchesTorch(name: String, byPosition: Bool) throws {
        let fixture = try ReferenceFixture(name)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.directory.appendingPathComponent("atp_star.json"))) as! [String: Any]
        let expected = json["nodes"] as! [String: [String: Double]]
        let atpStar = AtPStar(model: fixture.model, pairs: fixture.pairs, metric: fixture.metric,
                              options: .init(neurons: !byPosition, byPosition: byPosition))
        let result = try atpStar.attribute(exact: true)
        // Every head output, query, key, value and MLP (at each position, or over all positions and with neurons).
        #expect(Set(result.entries.map(\.node)) == Set(expected.keys.filter { $0.contains("@") == byPosition }))
        for key in ["atp", "atp_qk_fix", "grad_drop", "exact"] {
            let actual = result.entries.map { entry -> Float in
                switch key {
                case "atp": return entry.atp
                case "atp_qk_fix": return entry.atpQKFix!
                case "grad_drop": return entry.gradDrop!
                default: return entry.exact!
                }
            }
            expectClose(actual, result.entries.map { Float(expected[$0.node]![key]!) }, "\(name) \(key) byPosition=\(byPosition)")
        }
        // The QK fix moves queries and keys closer to exact patching on these models.
        let comparisons = try #require(result.comparisons)
        let atp = comparisons.first { $0.estimator == "atp" }!, fixed = comparisons.first { $0.estimator == "atp_qk_fix" }!
        #expect(fixed.spearman! >= atp.spearman!)
    }

    @Test func spearmanAveragesTiedRanks() {
        let comparison = NodeAttribution.Comparison(estimator: "atp", estimates: [1, 2, 2, 4], exact: [-10, 20, 20, -40],
                                                    names: ["a", "b", "c", "d"], threshold: 0.3)
        #expect(comparison.spearman == 1)
        #expect(comparison.missed == [])
        let flipped = NodeAttribution.Comparison(estimator: "atp", estimates: [4, 2, 2, 0.1], exact: [1, 2, 2, 4],
                                                 names: ["a", "b", "c", "d"], threshold: 0.3)
        #expect(flipped.spearman == -1)
        #expect(flipped.missed == ["d"])
    }
}

extension Float {
    func isApproximatelyEqual(to other: Float, tolerance: Float = 1e-4) -> Bool {
        Swift.abs(self - other) <= tolerance * Swift.max(1, Swift.abs(other))
    }
}
