import TestModels
import Foundation
import Testing
import TestScratch
import Circuits

/// Position-aware circuits: edges per position bucket, checked against activation patching at positions,
/// against direct-edge patching written out with hooks, and on the induction construction.
@Suite struct PositionalCircuitTests {
    /// Two examples of different lengths whose labels `A`, `B`, `END` sit at different indices.
    static func labelledPairs() throws -> PromptPairs {
        try PromptPairs(clean: [[3, 7, 1, 9, 4], [8, 2, 2, 15, 6, 11]], corrupted: [[3, 7, 5, 9, 2], [8, 13, 2, 15, 6, 10]],
                        answers: [5, 9], wrongs: [1, 2], positionLabels: ["A": [2, 1], "B": [1, 3], "END": [4, 5]])
    }

    static func patching(llama: Bool, _ pairs: PromptPairs, labels: [String] = ["A", "B", "END"]) throws -> EdgePatching {
        let model = TestModels.make(llama: llama, layers: 3, kvHeads: llama ? 2 : nil)
        return try EdgePatching(model: model, pairs: pairs, positions: try PositionBuckets.labelled(labels, in: pairs), metric: .logitDiff)
    }

    @Test func bucketsCoverEveryTokenOnce() throws {
        let pairs = try Self.labelledPairs()
        let buckets = try PositionBuckets.labelled(["END", "A"], in: pairs)
        #expect(buckets.labels == ["END", "A", "other"])
        #expect(buckets.assignment == [[2, 2, 1, 2, 0, 2], [2, 1, 2, 2, 2, 0]])
        #expect(throws: CircuitError.self) { try PositionBuckets.labelled(["A", "C"], in: pairs) }
        #expect(throws: CircuitError.self) { try PositionBuckets.absolute(pairs) }
        let overlapping = try PromptPairs(clean: [[1, 2]], corrupted: [[1, 3]], answers: [0], wrongs: [1],
                                          positionLabels: ["X": [1], "END": [1]])
        #expect(throws: CircuitError.self) { try PositionBuckets.labelled(["X", "END"], in: overlapping) }
        let absolute = try PositionBuckets.absolute(try EdgePatchingTests.pairs())
        #expect(absolute.labels == ["0", "1", "2", "3", "4", "5"])
    }

    /// The positional graph is the plain graph × the buckets, and patching every positional edge is patching every edge.
    @Test(arguments: [false, true]) func allPositionalEdgesEqualAllEdges(llama: Bool) throws {
        let pairs = try Self.labelledPairs()
        let positional = try Self.patching(llama: llama, pairs)
        let plain = try EdgePatching(model: positional.model, pairs: pairs, metric: .logitDiff)
        #expect(positional.graph.edges.count == plain.graph.edges.count * 4)
        let all = positional.patchedLogits([.all(positional.graph)])
        #expect(all.maxAbsDifference(plain.patchedLogits([.all(plain.graph)])) < 1e-4)
        #expect(Swift.abs(positional.corruptedValue - plain.corruptedValue) < 1e-4)
        // A plain edge patched at every position is the plain edge.
        let byName = positional.graph.edgesByName(), plainEdge = plain.graph.edgesByName()["a0.h1->a2.h3<q>"]!
        let everyPosition = positional.graph.positions.map { byName["a0.h1@\($0)->a2.h3<q>@\($0)"]! }
        let both = [positional.metrics([EdgeMask(graph: positional.graph, edges: everyPosition)])[0],
                    plain.metrics([EdgeMask(graph: plain.graph, edges: [plainEdge])])[0]]
        #expect(Swift.abs(both[0] - both[1]) < 1e-4)
    }

    /// Patching every edge out of a node at one position bucket equals activation patching (noising) of that
    /// node's output at the bucket's positions of each example, by the activation patching code path.
    @Test(arguments: [false, true]) func outgoingEdgesAtAPositionEqualActivationPatching(llama: Bool) throws {
        let pairs = try Self.labelledPairs()
        let patching = try Self.patching(llama: llama, pairs)
        let graph = patching.graph, model = patching.model
        let activation = try ActivationPatching(model: model, pairs: pairs, metric: patching.metric, direction: .noising)
        for bucket in graph.positions.indices {
            let inBucket = pairs.clean.tokens.indices.map { i in (0..<pairs.length).map { p in Self.bucket(of: p, example: i, graph, pairs) == bucket } }
            for (node, point, head) in [(ComputationGraph.Sender.head(layer: 0, head: 1), HookPoint.z(0), 1),
                                        (.head(layer: 1, head: 2), .z(1), 2), (.mlp(layer: 1), .mlpOut(1), nil)] {
                let outgoing = graph.edges.filter { $0.sender == node && $0.position == bucket }
                let edgeValue = patching.metrics([EdgeMask(graph: graph, edges: outgoing)])[0]
                let heads = head == nil ? 1 : model.headCount
                let mask = Tensor(shape: head == nil ? [pairs.count, pairs.length, 1] : [pairs.count, pairs.length, heads, 1],
                                  scalars: inBucket.flatMap { $0.flatMap { at in (0..<heads).map { h in at && (head == nil || h == head) ? 1 : 0 } } })
                let activationValue = activation.patchedMetrics(at: point, masks: [mask])[0]
                #expect(Swift.abs(edgeValue - activationValue) < 1e-4, "\(node.name)@\(graph.positions[bucket])")
            }
        }
    }

    /// A direct edge at one position bucket equals path patching of that edge restricted to those positions,
    /// written out with hooks: the receiver's input on the clean run plus (corrupted − clean) sender output at
    /// the bucket's positions only. So does its exact score (plus the clean metric).
    @Test(arguments: [false, true]) func directEdgeAtAPositionEqualsPositionRestrictedPathPatching(llama: Bool) throws {
        let pairs = try Self.labelledPairs()
        let patching = try Self.patching(llama: llama, pairs)
        let graph = patching.graph, model = patching.model
        let exact = try patching.edgeAttribution(.exact)
        let (_, clean) = try model.runWithCache(pairs.clean, filter: .all)
        let (_, corrupted) = try model.runWithCache(pairs.corrupted, filter: .all)
        func output(_ cache: ActivationCache, _ sender: String) throws -> Tensor {
            if sender == "input" { return try cache.activation("resid_pre", layer: 0) }
            if sender.hasPrefix("m") { return try cache.activation("mlp_out", layer: Int(sender.dropFirst())!) }
            let parts = sender.dropFirst().components(separatedBy: ".h").map { Int($0)! }
            return try cache.headResults(layer: parts[0]).select(axis: 2, parts[1])
        }
        let kv = llama ? "kv" : "h"
        let cases: [(String, String, HookPoint?, Int)] = [("a0.h1", "a2.h3<q>", .qInput(2), 3), ("input", "a1.\(kv)1<k>", .kInput(1), 1),
                                                          ("m0", "a2.\(kv)0<v>", .vInput(2), 0), ("a1.h2", "m1", .mlpIn(1), 0),
                                                          ("a2.h0", "logits", nil, 0)]
        for bucket in graph.positions.indices {
            let label = graph.positions[bucket]
            let at = Tensor(shape: [pairs.count, pairs.length, 1], scalars: pairs.clean.tokens.indices.flatMap { i in
                (0..<pairs.length).map { Self.bucket(of: $0, example: i, graph, pairs) == bucket ? 1 : 0 } })
            for (sender, receiver, point, slot) in cases {
                let shift = (try output(corrupted, sender) - output(clean, sender)) * at
                let hooks = ForwardHooks()
                switch point {
                case let point? where point.kind == .mlpIn:
                    hooks.add(point) { x, _ in x + shift }
                case let point?:
                    hooks.add(point) { x, _ in
                        x + Tensor.stack((0..<x.shape[2]).map { $0 == slot ? shift : Tensor.zeros(shift.shape) }, axis: 2)
                    }
                case nil:
                    hooks.add(.residPost(model.layerCount - 1)) { x, _ in x + shift }
                }
                let expected = patching.metric(model.forward(pairs.clean, hooks: hooks, logitPositions: .last).reshaped([pairs.count, -1])).item
                let edge = try #require(graph.edgesByName()["\(sender)@\(label)->\(receiver)@\(label)"])
                let value = patching.metrics([EdgeMask(graph: graph, edges: [edge])])[0]
                #expect(Swift.abs(value - expected) < 1e-4, "\(graph.name(of: edge))")
                #expect(Swift.abs(exact[edge] + patching.cleanValue - expected) < 1e-4, "exact \(graph.name(of: edge))")
            }
        }
    }

    /// Gradient scores per position bucket sum to the plain score of the edge (EAP, EAP-IG-inputs,
    /// EAP-IG-activations, clean-corrupted); information flow routes refuse the positional graph.
    @Test(arguments: [false, true]) func positionalEAPScoresSumToThePlainScore(llama: Bool) throws {
        let pairs = try Self.labelledPairs()
        let positional = try Self.patching(llama: llama, pairs)
        let plain = try EdgePatching(model: positional.model, pairs: pairs, metric: .logitDiff)
        let methods: [EdgeAttributionMethod] = [.eap, .eapIGInputs(steps: 3), .eapIGActivations(steps: 2), .cleanCorrupted]
        for method in methods {
            let perPosition = try positional.edgeAttribution(method)
            let whole = try plain.edgeAttribution(method)
            let scale = whole.values.map(Swift.abs).max()!
            for edge in plain.graph.edges {
                let summed = positional.graph.positions.indices.reduce(Float(0)) {
                    $0 + perPosition[ComputationGraph.Edge(sender: edge.sender, receiver: edge.receiver, position: $1)]
                }
                #expect(Swift.abs(summed - whole[edge]) <= 1e-4 * scale, "\(method.name) \(plain.graph.name(of: edge))")
            }
        }
        #expect(throws: CircuitError.self) { try positional.edgeAttribution(.informationFlowRoutes) }
        #expect(throws: CircuitError.self) { try positional.nodeAttribution(.eap) }
    }

    /// Position-aware ACDC follows its graph incrementally; its current metric equals a full patched pass.
    @Test(arguments: [false, true]) func positionalACDCIncrementalValuesEqualFullPatchedRuns(llama: Bool) throws {
        let pairs = try Self.labelledPairs()
        let model = TestModels.make(llama: llama, layers: 2, kvHeads: llama ? 2 : nil)
        let patching = try EdgePatching(model: model, pairs: pairs, positions: try PositionBuckets.labelled(["A", "END"], in: pairs), metric: .kl)
        let options = ACDCOptions(threshold: 0.002)
        var state: ACDCState?
        repeat {
            let (_, next) = try patching.acdcEdges(options, resumingFrom: state, stopAfter: 150)
            state = next
            let removed = EdgeMask(graph: patching.graph, values: next.removed)
            #expect(Swift.abs(next.current - patching.metrics([removed])[0]) < 1e-4, "after \(next.tested) tests")
        } while state!.receiver >= 0
        let batched = try patching.acdcEdges(options).state
        let oneAtATime = try patching.acdcEdges(ACDCOptions(threshold: 0.002, maxBatchSize: 1)).state
        #expect(oneAtATime.removed == batched.removed && oneAtATime.current == batched.current)
        let removed = EdgeMask(graph: patching.graph, values: batched.removed)
        #expect(removed.count > 0 && removed.count < patching.graph.edges.count)
    }

    /// The induction construction with every token corrupted: the answer at `END` is the token at `copied`
    /// (the one after the earlier occurrence of the `END` token), found by the induction head's key at
    /// `copied`, which the previous-token head writes from the token at `prev`. Position-aware ACDC keeps
    /// exactly those positional edges; examples of different lengths align by label.
    @Test func positionalACDCRecoversTheInductionPositions() throws {
        let model = KnownCircuits.induction()
        let clean = [[3, 1, 4, 0, 2, 5, 1], [2, 5, 0, 3, 4, 0]], corrupted = [[0, 2, 5, 3, 0, 4, 3], [1, 2, 4, 5, 1, 2]]
        let answers = [4, 3]
        func answerLogit(_ pairs: PromptPairs) -> (Tensor) -> Metric {
            let pick = Tensor(shape: [pairs.count, KnownCircuits.vocabulary],
                              scalars: answers.flatMap { a in (0..<KnownCircuits.vocabulary).map { $0 == a ? 1 : 0 } })
            return { _ in Metric(name: "answer_logit") { ($0 * pick).mean() * Float(KnownCircuits.vocabulary) } }
        }
        let labelled = try PromptPairs(clean: clean, corrupted: corrupted, answers: answers, wrongs: [0, 0],
                                       positionLabels: ["prev": [1, 2], "copied": [2, 3], "END": [6, 5]])
        let byLabel = try EdgePatching(model: model, pairs: labelled, positions: try PositionBuckets.labelled(["prev", "copied", "END"], in: labelled),
                                       metric: answerLogit(labelled))
        #expect(Swift.abs(byLabel.cleanValue - 1) < 1e-3 && Swift.abs(byLabel.corruptedValue) < 1e-3)
        let found = byLabel.acdc(ACDCOptions(threshold: 0.1))
        #expect(found.kept.map(byLabel.graph.name(of:)).sorted() == [
            "a0.h0@copied->a1.h0<k>@copied", "a1.h0@END->logits@END", "input@END->a1.h0<q>@END",
            "input@copied->a1.h0<v>@copied", "input@prev->a0.h0<v>@prev"])
        #expect(byLabel.faithfulness(of: found.circuit) > 0.999)

        // The same with absolute positions on the first example.
        let one = try PromptPairs(clean: [clean[0]], corrupted: [corrupted[0]], answers: [answers[0]], wrongs: [0])
        let absolute = try EdgePatching(model: model, pairs: one, positions: try PositionBuckets.absolute(one),
                                        metric: KnownCircuits.logitMetric(answers[0]))
        #expect(absolute.acdc(ACDCOptions(threshold: 0.1)).kept.map(absolute.graph.name(of:)).sorted() == [
            "a0.h0@2->a1.h0<k>@2", "a1.h0@6->logits@6", "input@1->a0.h0<v>@1", "input@2->a1.h0<v>@2", "input@6->a1.h0<q>@6"])
    }

    /// Names parse back, and a positional circuit survives a JSON round trip with its positions.
    @Test func positionalNamesAndJSONRoundTrip() throws {
        let graph = ComputationGraph(layerCount: 2, headCount: 2, positions: ["S2", "END", "other"])
        let byName = graph.edgesByName()
        let edge = try #require(byName["a0.h1@S2->a1.h0<k>@S2"])
        #expect(edge == ComputationGraph.Edge(sender: .head(layer: 0, head: 1), receiver: .key(layer: 1, group: 0), position: 0))
        #expect(byName["m1@END->logits@END"] != nil && byName["a0.h1->a1.h0<k>"] == nil && byName["a0.h1@S2->a1.h0<k>@END"] == nil)
        #expect(graph.edges.count == 3 * ComputationGraph(layerCount: 2, headCount: 2).edges.count)
        for (i, e) in graph.edges.enumerated() { #expect(graph.edgeIndex(of: e) == i) }
        let chosen: Set = [edge, byName["a1.h0@END->logits@END"]!, byName["input@S2->a0.h1<v>@S2"]!]
        let circuit = Circuit(graph: graph, edges: chosen, scores: [edge: 0.5, byName["a1.h0@END->logits@END"]!: -1.25],
                              metadata: ["method": "acdc"])
        #expect(circuit.positionalNodes == ["input@S2", "a0.h1@S2", "a1.h0@S2", "a1.h0@END", "logits@END"])
        try withTemporaryDirectory { scratch in
            let url = scratch.appendingPathComponent("positional-circuit.json")
            try circuit.jsonData(modelWidth: 8).write(to: url)
            let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
            #expect(text.contains("\"positions\":[\"S2\",\"END\",\"other\"]") && !text.contains("\"cfg\""))
            #expect(text.contains("\"a1.h0@END\":{\"in_graph\":true}"))
            let read = try Circuit.read(from: url)
            #expect(read.graph.positions == graph.positions && read.edges == chosen && read.scores == circuit.scores)
            #expect(read.dot().contains("\"a0.h1@S2\" -> \"a1.h0@S2\""))
            let atS2 = read.edges(atPosition: 0)
            #expect(atS2.graph.positions.isEmpty && atS2.edges.map(atS2.graph.name(of:)).sorted() == ["a0.h1->a1.h0<k>", "input->a0.h1<v>"])
        }
    }

    static func bucket(of position: Int, example: Int, _ graph: ComputationGraph, _ pairs: PromptPairs) -> Int {
        for (b, label) in graph.positions.enumerated() where pairs.positionLabels[label]?[example] == position { return b }
        return graph.positions.firstIndex(of: PositionBuckets.otherLabel)!
    }
}
