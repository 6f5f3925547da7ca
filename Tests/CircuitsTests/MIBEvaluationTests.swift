import Foundation
import TestModels
import Testing
import Circuits

/// MIB evaluation (Sources/Circuits/MIBEvaluation.swift) and ROC (ROC.swift) against the fixtures of
/// scripts/make_mib_references.py: a transcription of the MIB circuit track's `evaluate_area_under_curve`
/// (areas, n per fraction) and scikit-learn's `roc_curve` / `roc_auc_score`.
@Suite struct MIBEvaluationTests {
    static func fixture(_ name: String) throws -> [String: Any] {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("mib/\(name)")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    static func doubles(_ value: Any?) -> [Double] { (value as! [NSNumber]).map(\.doubleValue) }

    @Test func areasEqualMIBsFormulas() throws {
        let areas = try Self.fixture("areas.json")
        #expect(Self.doubles(areas["percentages"]) == MIBCurve.fractions)
        for (name, value) in areas["curves"] as! [String: [String: Any]] {
            let faithfulness = Self.doubles(value["faithfulness"])
            let (under, fromOne) = MIBCurve.areas(fractions: MIBCurve.fractions, faithfulness: faithfulness)
            #expect(Swift.abs(under - (value["area_under"] as! NSNumber).doubleValue) < 1e-12, "\(name) area under")
            #expect(Swift.abs(fromOne - (value["area_from_1"] as! NSNumber).doubleValue) < 1e-12, "\(name) area from 1")
            let points = zip(MIBCurve.fractions, faithfulness).map {
                MIBPoint(fraction: $0, edgeCount: 0, keptEdges: 0, faithfulness: Float($1))
            }
            let curve = MIBCurve(ranking: .absolute, points: points)
            #expect(Swift.abs(curve.average - (value["average"] as! NSNumber).doubleValue) < 1e-6, "\(name) average")
            #expect(Swift.abs(curve.areaUnder - under) < 1e-6 && Swift.abs(curve.areaFromOne - fromOne) < 1e-6, "\(name) curve areas")
        }
    }

    @Test func edgeCountsEqualMIBsTruncation() throws {
        let counts = try Self.fixture("areas.json")["counts"] as! [String: [Int]]
        #expect(counts.count > 1000)
        for (total, expected) in counts {
            #expect(MIBCurve.fractions.map { MIBCurve.edgeCount(fraction: $0, of: Int(total)!) } == expected, "\(total) edges")
        }
    }

    @Test func rocEqualsScikitLearn() throws {
        for (name, value) in try Self.fixture("roc.json") as! [String: [String: Any]] {
            let scores = Self.doubles(value["scores"]).map(Float.init)
            let labels = (value["labels"] as! [Int]).map { $0 == 1 }
            let roc = try ROCCurve(scores: scores, labels: labels)
            let fpr = Self.doubles(value["fpr"]), tpr = Self.doubles(value["tpr"])
            #expect(roc.points.map(\.falsePositiveRate).count == fpr.count, "\(name) point count")
            for (point, (x, y)) in zip(roc.points, zip(fpr, tpr)) {
                #expect(Swift.abs(point.falsePositiveRate - x) < 1e-12 && Swift.abs(point.truePositiveRate - y) < 1e-12, "\(name) point")
            }
            #expect(Swift.abs(roc.area - (value["auroc"] as! NSNumber).doubleValue) < 1e-12, "\(name) AUROC")
        }
    }

    @Test func rocOfEdgeScoresRanksByMagnitudeAndRefusesOneClass() throws {
        let graph = ComputationGraph(layerCount: 1, headCount: 2)
        // The two true edges have the largest |score| (one negative): a perfect ranking by magnitude.
        let values = graph.edges.indices.map { Float($0) * 0.01 }
        var scored = values
        scored[3] = -5
        scored[7] = 4
        let scores = try Circuit(graph: graph, edges: [], scores: Dictionary(uniqueKeysWithValues: zip(graph.edges, scored))).edgeScores()
        let truth: Set = [graph.edges[3], graph.edges[7]]
        #expect(try scores.roc(trueEdges: truth).area == 1)
        #expect(try scores.roc(trueEdges: truth, ranking: .signed).area < 1)
        #expect(throws: CircuitError.self) { try scores.roc(trueEdges: []) }
        #expect(throws: CircuitError.self) { try scores.roc(trueEdges: Set(graph.edges)) }
    }

    /// ``Circuit/pruned()`` equals EAP-IG's `Graph.prune` (src/eap/graph.py), transcribed literally: repeatedly
    /// keep the nodes with an outgoing and an incoming edge (`input` always counts as having one), then the
    /// edges whose sender and receiving node are kept, until nothing changes.
    @Test func pruningEqualsEAPIGsFixpoint() {
        let graph = ComputationGraph(layerCount: 3, headCount: 3)
        var generator = SeededGenerator(seed: 11)
        for density in [0.02, 0.05, 0.1, 0.3] {
            for _ in 0..<10 {
                let edges = Set(graph.edges.filter { _ in Double.random(in: 0..<1, using: &generator) < density })
                #expect(Circuit(graph: graph, edges: edges).pruned().edges == Self.eapIGPrune(edges, graph))
            }
        }
    }

    static func eapIGPrune(_ start: Set<ComputationGraph.Edge>, _ graph: ComputationGraph) -> Set<ComputationGraph.Edge> {
        var edges = start
        while true {
            let kept = Set(graph.senders.filter { node in
                let outgoing = edges.contains { $0.sender == node }
                let incoming = node == .input || edges.contains { graph.inputs(of: node).contains($0.receiver) }
                return outgoing && incoming
            })
            let next = edges.filter { kept.contains($0.sender) && ($0.receiver == .logits || graph.nodes(reading: $0.receiver).allSatisfy(kept.contains)) }
            if next == edges { return edges }
            edges = next
        }
    }

    @Test(arguments: [false, true]) func curvePointsAreTheFaithfulnessOfPrunedTopNCircuits(llama: Bool) throws {
        let model = TestModels.make(llama: llama, layers: 3)
        let patching = try EdgePatching(model: model, pairs: try EdgePatchingTests.pairs(), metric: .logitDiff)
        let scores = patching.edgeAttribution()
        let total = patching.graph.edges.count
        for ranking in EdgeRanking.allCases {
            let curve = patching.mibCurve(scores, ranking: ranking)
            #expect(curve.points.map(\.fraction) == MIBCurve.fractions)
            let ordered = scores.values.indices.sorted {
                ranking == .absolute ? Swift.abs(scores.values[$0]) > Swift.abs(scores.values[$1]) : scores.values[$0] > scores.values[$1]
            }
            for point in curve.points {
                #expect(point.edgeCount == Int(point.fraction * Double(total)))
                let top = Circuit(graph: patching.graph, edges: Set(ordered.prefix(point.edgeCount).map { patching.graph.edges[$0] }))
                let pruned = top.pruned()
                #expect(point.keptEdges == pruned.edges.count)
                #expect(Swift.abs(point.faithfulness - patching.faithfulness(of: pruned)) < 1e-5, "\(ranking) at \(point.fraction)")
            }
            // The full graph is the clean run; fewer than 1000 edges leave the first fraction's circuit empty.
            #expect(Swift.abs(curve.points.last!.faithfulness - 1) < 1e-4)
            #expect(total < 1000 && Swift.abs(curve.points[0].faithfulness) < 1e-4)
            let expected = MIBCurve.areas(fractions: MIBCurve.fractions, faithfulness: curve.points.map { Double($0.faithfulness) })
            #expect(curve.areaUnder == expected.under && curve.areaFromOne == expected.fromOne)
        }
        let evaluation = patching.mibEvaluation(scores)
        #expect(evaluation.cpr == evaluation.curve(.signed)!.areaUnder && evaluation.cmd == evaluation.curve(.absolute)!.areaFromOne)
    }

    /// MIB's `mean` ablation: each sender carries its output averaged over each reference example's real positions,
    /// then over the examples; padding positions do not count.
    @Test func meanOverPositionsCarriesTheAveragedSenderOutput() throws {
        let model = TestModels.make(llama: false)
        let pairs = try PromptPairs(clean: [[3, 7, 1, 9, 4, 4], [8, 2, 2, 15]], corrupted: [[3, 7, 5, 9, 4, 4], [8, 13, 2, 15]],
                                    answers: [5, 9], wrongs: [1, 2])
        let patching = try EdgePatching(model: model, pairs: pairs, source: .meanOverPositions(pairs.clean), metric: .logitDiff)
        let edge = try #require(patching.graph.edgesByName()["a1.h2->logits"])
        let (_, cache) = try model.runWithCache(pairs.clean, filter: .all)
        let head = try cache.headResults(layer: 1).select(axis: 2, 2)  // [batch, pos, d]
        let width = head.shape[2]
        var mean = [Float](repeating: 0, count: width)
        for (b, length) in [6, 4].enumerated() {
            for p in 0..<length {
                for i in 0..<width { mean[i] += head[b, p, i] / Float(length) / 2 }
            }
        }
        let shift = Tensor(shape: [1, 1, width], scalars: mean).broadcast(to: head.shape) - head
        let final = try cache.activation("resid_post", layer: -1) + shift
        let expected = model.unembed(final.gather(positions: pairs.readPositions), hooks: nil).reshaped([2, -1])
        #expect(patching.patchedLogits([EdgeMask(graph: patching.graph, edges: [edge])]).maxAbsDifference(expected) < 1e-4)
    }
}

/// The whole MIB table on the tiny GPT-2 fixture equals the MIB circuit track's own `evaluate_area_under_curve` run
/// with the EAP-IG library (scripts/make_mib_references.py --eap-ig --mib), from the library's importance file.
@Suite struct MIBLibraryReferenceTests {
    @Test(arguments: [("counterfactual-absolute", EdgeRanking.absolute), ("counterfactual-signed", .signed),
                      ("mean-positional-absolute", .absolute)])
    func curveEqualsTheMIBLibrarys(name: String, ranking: EdgeRanking) throws {
        let reference = try MIBEvaluationTests.fixture("library.json")
        let checkpoint = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models/gpt2")
        let model = try TransformerModel.load(Checkpoint(directory: checkpoint))
        let pairs = try PromptPairs(clean: reference["clean"] as! [[Int]], corrupted: reference["corrupted"] as! [[Int]],
                                    answers: reference["answers"] as! [Int], wrongs: reference["wrongs"] as! [Int])
        let source: EdgePatching.Source = name.hasPrefix("mean-positional") ? .meanPerPosition(pairs.clean) : .corrupted
        let patching = try EdgePatching(model: model, pairs: pairs, source: source, metric: .logitDiff)
        let importances = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("mib/importances.json")
        let scores = try Circuit.read(from: importances).edgeScores()
        #expect(scores.graph.edges == patching.graph.edges && patching.graph.edges.count == reference["edge_count"] as! Int)
        #expect(Swift.abs(patching.cleanValue - (reference["clean_value"] as! NSNumber).floatValue) < 1e-4)

        let expected = (reference["curves"] as! [String: [String: Any]])[name]!
        let curve = patching.mibCurve(scores, ranking: ranking)
        let faithfulness = MIBEvaluationTests.doubles(expected["faithfulnesses"])
        for (point, value) in zip(curve.points, faithfulness) {
            #expect(Swift.abs(Double(point.faithfulness) - value) < 1e-4, "\(name) at \(point.fraction): \(point.faithfulness) vs \(value)")
        }
        // The pinned EAP-IG prunes only once inside apply_topn (its weighted_edge_counts), then to the fixpoint inside
        // evaluate_graph, which is what is evaluated; pruned_edge_counts are those fixpoint circuits.
        #expect(curve.points.map(\.keptEdges) == expected["pruned_edge_counts"] as! [Int])
        #expect(Swift.abs(curve.areaUnder - (expected["area_under"] as! NSNumber).doubleValue) < 1e-4)
        #expect(Swift.abs(curve.areaFromOne - (expected["area_from_1"] as! NSNumber).doubleValue) < 1e-4)
        #expect(Swift.abs(curve.average - (expected["average"] as! NSNumber).doubleValue) < 1e-4)

        // interp's EAP-IG scores the metric m, the library's file the loss −m: negated, ours give the same curve.
        let counterfactual = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff)
        let ours = patching.mibCurve(counterfactual.edgeAttribution(integratedGradientSteps: 5).negated(), ranking: ranking)
        for (point, value) in zip(ours.points, faithfulness) {
            #expect(Swift.abs(Double(point.faithfulness) - value) < 1e-4, "\(name) from interp's scores at \(point.fraction)")
        }
    }
}

extension MIBLibraryReferenceTests {
    /// `evaluate_area_under_roc` (greedy circuits at MIB's fractions against a reference graph) and the area
    /// `print_results.py` reports, from the library's importance file and a random set of true edges.
    @Test func mibROCEqualsTheMIBLibrarys() throws {
        let reference = try MIBEvaluationTests.fixture("library.json")["roc"] as! [String: Any]
        let importances = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("mib/importances.json")
        let scores = try Circuit.read(from: importances).edgeScores()
        let byName = scores.graph.edgesByName()
        let truth = Set((reference["true_edges"] as! [String]).map { byName[$0]! })
        let roc = try scores.mibROC(trueEdges: truth)
        let expected = [("fpr", \MIBROCCurve.Point.falsePositiveRate), ("tpr", \.truePositiveRate), ("precision", \.precision)]
        for (key, path) in expected {
            let values = MIBEvaluationTests.doubles(reference[key])
            #expect(roc.points.count == values.count && zip(roc.points, values).allSatisfy { Swift.abs($0[keyPath: path] - $1) < 1e-12 },
                    "\(key): \(roc.points.map { $0[keyPath: path] }) vs \(values)")
        }
        #expect(Swift.abs(roc.area - (reference["auroc"] as! NSNumber).doubleValue) < 1e-12)
        // The exact ROC differs (it has every threshold) but ranks the same scores.
        #expect(try scores.roc(trueEdges: truth).area > 0.5)
    }
}
