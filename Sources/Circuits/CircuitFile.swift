import Foundation
import LanguageModels

/// Circuits as files: JSON in the EAP-IG layout and Graphviz DOT.
///
/// JSON: `{"nodes": {"a0.h1": {"in_graph": true}}, "edges": {"input->a0.h1<q>": {"score": 0.3, "in_graph": true}},
/// "metadata": {"model": ..., "method": ..., "metric": ..., "faithfulness": ...}}`, every node and edge of the
/// graph listed with `in_graph`, plus the graph's shape so that the file can be read back on its own.
///
/// A position-aware circuit (``PositionBuckets``) has `"positions": ["IO", "S1", "S2", "END", "other"]` in
/// `graph`, and every edge and node is listed once per position bucket with the bucket at both ends of the
/// edge name: `"a5.h1@S2->a9.h9<k>@S2"`, `"m3@END->logits@END"`; nodes `"a5.h1@S2"` (in the graph when an edge
/// leaves it or enters one of its inputs at that position). Labels `0`, `1`, … are absolute token positions;
/// `other` is the catch-all bucket of the tokens no label names. EAP-IG has no such graph, so these files
/// have no `cfg`.
/// EAP-IG's own layout (`Graph.to_json`, with `cfg` instead of `graph`) is read too, and written alongside
/// ours when a model width is given (see `MIBImportanceFile.swift`).
extension Circuit {
    struct NodeEntry: Codable { let in_graph: Bool }
    struct EdgeEntry: Codable { let score: Float?; let in_graph: Bool }
    struct GraphShape: Codable, CustomStringConvertible {
        let n_layers: Int; let n_heads: Int; let n_kv_heads: Int; let mlps: Bool
        /// Per layer, whether the MLP reads that layer's heads; absent when every layer's does (sequential blocks).
        let mlp_reads_attention: [Bool]?
        /// The position buckets of a position-aware graph; absent for the plain graph.
        var positions: [String]? = nil

        /// Whether layer `l`'s MLP reads its heads.
        func mlpReadsAttention(_ l: Int) -> Bool { mlp_reads_attention?[l] ?? true }

        var description: String {
            "GraphShape(n_layers: \(n_layers), n_heads: \(n_heads), n_kv_heads: \(n_kv_heads), mlps: \(mlps)"
                + (mlp_reads_attention.map { ", mlp_reads_attention: \($0)" } ?? "")
                + (positions.map { ", positions: \($0)" } ?? "") + ")"
        }

        /// The number of edges of a graph of this shape, or nil when there are more than `limit`: counted
        /// without building the graph, since a corrupt shape can describe more edges than memory holds.
        func edgeCount(atMost limit: Int) -> Int? {
            guard n_heads <= limit, n_kv_heads <= limit else { return nil }
            let mlp = mlps ? 1 : 0
            var count = 0, sendersBefore = 1
            for l in 0..<n_layers {
                count += (n_heads + 2 * n_kv_heads) * sendersBefore + mlp * (sendersBefore + (mlpReadsAttention(l) ? n_heads : 0))
                sendersBefore += n_heads + mlp
                if count > limit { return nil }
            }
            count += sendersBefore
            count *= Swift.max(positions?.count ?? 1, 1)
            return count <= limit ? count : nil
        }
    }
    struct File: Codable {
        /// Ours; EAP-IG files have `cfg` instead.
        let graph: GraphShape?
        let cfg: EAPIGConfig?
        let nodes: [String: NodeEntry]
        let edges: [String: EdgeEntry]
        /// Ours; absent from EAP-IG files.
        let metadata: [String: String]?
    }

    /// The circuit as JSON data; with `modelWidth` (d_model), also EAP-IG's `cfg`, so that EAP-IG's
    /// `Graph.from_json` (and the MIB circuit track) read the file; unscored edges are then written with score 0.
    public func jsonData(modelWidth: Int? = nil) throws -> Data {
        let cfg = modelWidth.flatMap(eapIGConfig(modelWidth:))
        let inGraphNodes = Set(graph.isPositional ? positionalNodes : nodes)
        let nodeNames = graph.positions.isEmpty ? graph.senders.map(\.name) + ["logits"]
            : (graph.senders.map(\.name) + ["logits"]).flatMap { node in graph.positions.indices.map { graph.name(of: node, at: $0) } }
        let nodeEntries = Dictionary(uniqueKeysWithValues: nodeNames.map { ($0, NodeEntry(in_graph: inGraphNodes.contains($0))) })
        let edgeEntries = Dictionary(uniqueKeysWithValues: graph.edges.map {
            (graph.name(of: $0), EdgeEntry(score: scores[$0] ?? (cfg == nil ? nil : 0), in_graph: edges.contains($0)))
        })
        let reads = graph.mlpReadsAttentionOutput
        let file = File(graph: GraphShape(n_layers: graph.layerCount, n_heads: graph.headCount,
                                          n_kv_heads: graph.keyValueHeadCount, mlps: graph.hasMLPs,
                                          mlp_reads_attention: reads.allSatisfy { $0 } ? nil : reads,
                                          positions: graph.isPositional ? graph.positions : nil),
                        cfg: cfg, nodes: nodeEntries, edges: edgeEntries, metadata: metadata)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(file)
    }

    /// Reads a circuit JSON file written by ``jsonData(modelWidth:)`` or by EAP-IG's `Graph.to_json` (an MIB
    /// importance file), which lists every edge of the graph.
    ///
    /// - Throws: ``CircuitError/invalidFile(path:reason:)`` naming the file and what is wrong.
    public static func read(from url: URL) throws -> Circuit {
        let data: Data
        do { data = try Data(contentsOfFileOrStream: url) } catch {
            throw CircuitError.invalidFile(path: url.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw CircuitError.invalidFile(path: url.path, reason: "is not a circuit file: \((error as? DecodingError)?.fieldDescription ?? error.localizedDescription)")
        }
        let shape = try file.shape(path: url.path)
        guard shape.n_layers > 0, shape.n_heads > 0, shape.n_kv_heads > 0, shape.n_heads % shape.n_kv_heads == 0,
              shape.mlp_reads_attention.map({ $0.count == shape.n_layers }) ?? true,
              shape.positions.map({ !$0.isEmpty && Set($0).count == $0.count }) ?? true else {
            throw CircuitError.invalidFile(path: url.path, reason: "graph shape \(shape) is not valid")
        }
        let countLimit = max(file.edges.count, 1 << 24)
        let edgeCount = shape.edgeCount(atMost: countLimit)
        guard edgeCount == file.edges.count else {
            throw CircuitError.invalidFile(path: url.path, reason: "lists \(file.edges.count) edges but its graph \(shape) has "
                + "\(edgeCount.map(String.init) ?? "more than \(countLimit)"); a circuit file lists every edge of its graph")
        }
        let graph = ComputationGraph(layerCount: shape.n_layers, headCount: shape.n_heads,
                                     keyValueHeadCount: shape.n_kv_heads, hasMLPs: shape.mlps,
                                     mlpReadsAttentionOutput: shape.mlp_reads_attention, positions: shape.positions ?? [])
        let byName = graph.edgesByName()
        var edges = Set<Edge>(), scores: [Edge: Float] = [:]
        for (name, entry) in file.edges {
            guard let edge = byName[name] else {
                throw CircuitError.invalidFile(path: url.path, reason: "edge '\(name)' is not in a \(graph.layerCount)-layer, \(graph.headCount)-head graph")
            }
            if entry.in_graph { edges.insert(edge) }
            if let score = entry.score { scores[edge] = score }
        }
        return Circuit(graph: graph, edges: edges, scores: scores, metadata: file.metadata ?? [:])
    }

    /// Graphviz DOT: nodes in rows by layer, edges coloured by the input they feed (q, k, v, MLP, logits)
    /// and drawn wider for larger |score|. Position-aware, nodes are per position (`a5.h1@S2`).
    public func dot() -> String {
        let maxScore = edges.compactMap { scores[$0].map(Swift.abs) }.max() ?? 1
        var lines = ["digraph circuit {", "  rankdir=BT;", "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f4f4\", fontname=\"Helvetica\"];"]
        for node in graph.isPositional ? positionalNodes : nodes { lines.append("  \"\(node)\";") }
        for edge in edges.sorted(by: { graph.name(of: $0) < graph.name(of: $1) }) {
            let width = 1 + 4 * (scores[edge].map { Swift.abs($0) / Swift.max(maxScore, 1e-12) } ?? 0)
            for target in graph.nodes(reading: edge.receiver).map(\.name) + (edge.receiver == .logits ? ["logits"] : []) {
                lines.append("  \"\(graph.name(of: edge.sender.name, at: edge.position))\" -> \"\(graph.name(of: target, at: edge.position))\" [color=\"\(Self.colour(edge.receiver))\", penwidth=\(String(format: "%.2f", width))];")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    /// The colour of an edge by the input it feeds: q, k, v, MLP, logits.
    public static func colour(_ receiver: ComputationGraph.Receiver) -> String {
        switch receiver {
        case .query: return "#1f77b4"
        case .key: return "#2ca02c"
        case .value: return "#d62728"
        case .mlp: return "#9467bd"
        case .logits: return "#444444"
        }
    }
}
