/// A circuit: a subset of a computational graph's edges, with the scores that chose them.
///
/// ```swift
/// let scores = patching.edgeAttribution(integratedGradientSteps: 5)
/// let circuit = Circuit.top(scores, count: 200).pruned()
/// print(circuit.summary())
/// ```
public struct Circuit {
    public typealias Edge = ComputationGraph.Edge
    public typealias Node = ComputationGraph.Sender

    public let graph: ComputationGraph
    /// The edges in the circuit.
    public let edges: Set<Edge>
    /// A score per edge (every edge of the graph when the method scores all), e.g. EAP scores or ACDC effects.
    public let scores: [Edge: Float]
    /// Where the circuit came from: model, task, method, metric, threshold, faithfulness, ...
    public var metadata: [String: String]

    public init(graph: ComputationGraph, edges: Set<Edge>, scores: [Edge: Float] = [:], metadata: [String: String] = [:]) {
        self.graph = graph
        self.edges = edges
        self.scores = scores
        self.metadata = metadata
    }

    /// The `count` edges of largest |score|.
    public static func top(_ scores: EdgeScores, count: Int) -> Circuit {
        Circuit(graph: scores.graph, edges: Set(scores.ranked.prefix(count).map(\.edge)), scores: scores.dictionary,
                metadata: ["method": scores.method, "selection": "top-\(count)"])
    }

    /// The edges with |score| ≥ `threshold`.
    public static func threshold(_ scores: EdgeScores, _ threshold: Float) -> Circuit {
        Circuit(graph: scores.graph, edges: Set(scores.ranked.filter { Swift.abs($0.score) >= threshold }.map(\.edge)),
                scores: scores.dictionary, metadata: ["method": scores.method, "selection": "threshold-\(threshold)"])
    }

    /// Grows a circuit from the logits: repeatedly adds the highest-|score| edge whose receiver is already
    /// connected to the logits, until `count` edges.
    public static func greedy(_ scores: EdgeScores, count: Int) -> Circuit {
        let graph = scores.graph
        var chosen = Set<Edge>()
        var connected: Set<ComputationGraph.Receiver> = [.logits]
        var frontier = scores.ranked
        while chosen.count < count {
            guard let next = frontier.firstIndex(where: { connected.contains($0.edge.receiver) }) else { break }
            let edge = frontier.remove(at: next).edge
            chosen.insert(edge)
            connected.formUnion(graph.inputs(of: edge.sender))
        }
        return Circuit(graph: graph, edges: chosen, scores: scores.dictionary,
                       metadata: ["method": scores.method, "selection": "greedy-\(count)"])
    }

    /// The circuit without edges that lie on no path from `input` to `logits`.
    public func pruned() -> Circuit {
        var fromInput: Set<Node> = [.input]
        for node in graph.senders where node != .input {
            if edges.contains(where: { fromInput.contains($0.sender) && graph.inputs(of: node).contains($0.receiver) }) {
                fromInput.insert(node)
            }
        }
        var toLogits = Set<Node>()
        for node in graph.senders.reversed() {
            if edges.contains(where: { $0.sender == node && ($0.receiver == .logits || graph.nodes(reading: $0.receiver).contains(where: toLogits.contains)) }) {
                toLogits.insert(node)
            }
        }
        let kept = edges.filter { edge in
            fromInput.contains(edge.sender) && toLogits.contains(edge.sender)
                && (edge.receiver == .logits || graph.nodes(reading: edge.receiver).contains(where: toLogits.contains))
        }
        return Circuit(graph: graph, edges: kept, scores: scores, metadata: metadata)
    }

    /// The nodes the circuit touches (senders and receiving nodes of its edges), in forward order, then `logits`.
    public var nodes: [String] {
        var names = Set<String>()
        for edge in edges {
            names.insert(edge.sender.name)
            for node in graph.nodes(reading: edge.receiver) { names.insert(node.name) }
            if edge.receiver == .logits { names.insert("logits") }
        }
        return graph.senders.map(\.name).filter(names.contains) + (names.contains("logits") ? ["logits"] : [])
    }

    /// A one-line description, e.g. `Circuit: 8 nodes, 12 edges of 32491`.
    public func summary() -> String {
        var text = "Circuit: \(nodes.count) nodes, \(edges.count) edges of \(graph.edges.count)"
        if let method = metadata["method"] { text += " (\(method))" }
        if let faithfulness = metadata["faithfulness"] { text += ", faithfulness \(faithfulness)" }
        return text
    }
}

extension EdgeScores {
    /// Scores keyed by edge.
    public var dictionary: [ComputationGraph.Edge: Float] {
        Dictionary(uniqueKeysWithValues: zip(graph.edges, values))
    }
}

extension ACDCResult {
    /// The circuit ACDC kept, with each tested edge's effect as its score.
    public var circuit: Circuit {
        Circuit(graph: graph, edges: kept, scores: effects,
                metadata: ["method": options.nodeLevel ? "acdc-nodes" : "acdc", "threshold": "\(options.threshold)"])
    }
}
