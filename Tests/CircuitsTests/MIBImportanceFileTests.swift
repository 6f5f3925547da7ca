import Foundation
import Testing
import TestScratch
import Circuits

/// EAP-IG / MIB importance files (`Graph.to_json` of github.com/hannamw/EAP-IG, src/eap/graph.py) read and written
/// by ``Circuit/read(from:)`` and ``Circuit/jsonData(modelWidth:)``.
@Suite struct MIBImportanceFileTests {
    /// A file as `Graph.to_json` writes it for a 1-layer, 1-head graph: `cfg`, every node (with `logits`, and node
    /// scores, which are not read), every edge with a score.
    @Test func readsEAPIGsLayout() throws {
        let graph = ComputationGraph(layerCount: 1, headCount: 1)
        let names = graph.edges.map { graph.name(of: $0) }
        #expect(names == ["input->a0.h0<q>", "input->a0.h0<k>", "input->a0.h0<v>", "input->m0", "a0.h0->m0",
                          "input->logits", "a0.h0->logits", "m0->logits"])
        let edges = names.enumerated().map { i, name in
            "\"\(name)\": {\"score\": \(Double(i) - 2.5), \"in_graph\": \(i % 2 == 0)}"
        }.joined(separator: ", ")
        let text = """
            {"cfg": {"n_layers": 1, "n_heads": 1, "parallel_attn_mlp": false, "d_model": 8, "extra": [1, 2]},
             "nodes": {"input": {"in_graph": true, "score": 1.5}, "a0.h0": {"in_graph": true, "score": 0.5},
                       "m0": {"in_graph": false, "score": -2}, "logits": {"in_graph": true, "score": 0}},
             "edges": {\(edges)}}
            """
        let circuit = try withTemporaryFile(Data(text.utf8), named: "importances.json") { try Circuit.read(from: $0) }
        #expect(circuit.graph.edges == graph.edges)
        #expect(circuit.edges == Set(graph.edges.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)))
        let scores = try circuit.edgeScores()
        #expect(scores.values == names.indices.map { Float($0) - 2.5 })
        #expect(circuit.metadata.isEmpty)
    }

    @Test func writesEAPIGsConfigAndReadsItBack() throws {
        let graph = ComputationGraph(layerCount: 2, headCount: 3)
        let scores = Dictionary(uniqueKeysWithValues: graph.edges.prefix(5).enumerated().map { ($1, Float($0) + 0.5) })
        let circuit = Circuit(graph: graph, edges: Set(graph.edges.prefix(3)), scores: scores, metadata: ["method": "eap"])
        let data = try circuit.jsonData(modelWidth: 48)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let cfg = try #require(object["cfg"] as? [String: Any])
        #expect(cfg["n_layers"] as? Int == 2 && cfg["n_heads"] as? Int == 3 && cfg["d_model"] as? Int == 48)
        #expect(cfg["parallel_attn_mlp"] as? Bool == false)
        let edges = object["edges"] as! [String: [String: Any]]
        #expect(edges.count == graph.edges.count && edges.values.allSatisfy { $0["score"] is NSNumber && $0["in_graph"] is Bool })
        #expect((object["nodes"] as! [String: Any]).keys.contains("logits"))
        // Without a model width the file is ours alone, and unscored edges stay unscored.
        #expect((try JSONSerialization.jsonObject(with: circuit.jsonData()) as! [String: Any])["cfg"] == nil)
        // Grouped-query graphs have no EAP-IG form.
        let grouped = Circuit(graph: ComputationGraph(layerCount: 1, headCount: 4, keyValueHeadCount: 2), edges: [])
        #expect((try JSONSerialization.jsonObject(with: grouped.jsonData(modelWidth: 8)) as! [String: Any])["cfg"] == nil)

        let read = try withTemporaryFile(data, named: "circuit.json") { try Circuit.read(from: $0) }
        #expect(read.edges == circuit.edges && read.metadata == circuit.metadata)
        #expect(read.scores.count == graph.edges.count && read.scores[graph.edges[1]] == 1.5 && read.scores[graph.edges[9]] == 0)
    }

    @Test func badFilesNameTheField() throws {
        func message(_ text: String) throws -> String {
            do {
                _ = try withTemporaryFile(Data(text.utf8), named: "circuit.json") { try Circuit.read(from: $0) }
                return ""
            } catch let error as CircuitError { return "\(error)" }
        }
        #expect(try message(#"{"nodes": {}, "edges": {}}"#).contains("'cfg'"))
        // EAP-IG's parallel graphs are read (each MLP reads the block input); this file lists none of its edges.
        #expect(try message(#"{"cfg": {"n_layers": 1, "n_heads": 1, "parallel_attn_mlp": true}, "nodes": {}, "edges": {}}"#)
            .contains("mlp_reads_attention: [false]"))
        #expect(try message(#"{"cfg": {"n_layers": 1}, "nodes": {}, "edges": {}}"#).contains("n_heads"))
        #expect(try message(#"{"cfg": {"n_layers": 1, "n_heads": 1}, "nodes": {}, "edges": {}}"#).contains("lists 0 edges"))
        let graph = ComputationGraph(layerCount: 1, headCount: 1)
        let unscored = Circuit(graph: graph, edges: [], scores: [graph.edges[0]: 1])
        #expect(throws: CircuitError.self) { try unscored.edgeScores() }
    }
}
