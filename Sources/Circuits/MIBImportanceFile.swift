/// MIB / EAP-IG importance files: the JSON of EAP-IG's `Graph.to_json` (github.com/hannamw/EAP-IG,
/// `src/eap/graph.py`), which the MIB circuit track reads with `Graph.from_json`:
///
/// `{"cfg": {"n_layers": 12, "n_heads": 12, "parallel_attn_mlp": false, "d_model": 768},
///   "nodes": {"a0.h1": {"in_graph": true}, ...}, "edges": {"input->a0.h1<q>": {"score": 0.3, "in_graph": true}, ...}}`
///
/// Every edge is listed with a score. EAP-IG graphs always have MLPs and ungroup grouped-query attention (a key or
/// value edge per query head), so only graphs of that shape have a `cfg`; node scores and neuron-level entries are
/// not read. ``Circuit/read(from:)`` reads these files and ours; ``Circuit/jsonData(modelWidth:)`` writes both keys.
/// EAP-IG's other format, `Graph.to_pt` (a torch pickle), is not read: convert it with EAP-IG itself,
/// `Graph.from_pt("importances.pt").to_json("importances.json")`.
extension Circuit {
    /// EAP-IG's graph configuration (`Graph.cfg`); other keys of the file's `cfg` are ignored.
    struct EAPIGConfig: Codable {
        let n_layers: Int
        let n_heads: Int
        let parallel_attn_mlp: Bool?
        let d_model: Int?
    }

    /// The EAP-IG configuration of this circuit's graph, or nil when EAP-IG cannot represent the graph
    /// (grouped-query attention, no MLPs, or parallel and sequential blocks mixed).
    func eapIGConfig(modelWidth: Int) -> EAPIGConfig? {
        let parallel = !graph.mlpReadsAttentionOutput.contains(true)
        guard !graph.groupedQuery, !graph.isPositional, graph.hasMLPs, parallel || !graph.mlpReadsAttentionOutput.contains(false) else { return nil }
        return EAPIGConfig(n_layers: graph.layerCount, n_heads: graph.headCount, parallel_attn_mlp: parallel, d_model: modelWidth)
    }
}

extension Circuit.File {
    /// The graph shape: ours (`graph`), else from EAP-IG's `cfg`.
    func shape(path: String) throws -> Circuit.GraphShape {
        if let graph { return graph }
        guard let cfg else {
            throw CircuitError.invalidFile(path: path, reason: "has neither 'graph' (interp) nor 'cfg' (EAP-IG): the graph's shape is unknown")
        }
        return Circuit.GraphShape(n_layers: cfg.n_layers, n_heads: cfg.n_heads, n_kv_heads: cfg.n_heads, mlps: true,
                                  mlp_reads_attention: cfg.parallel_attn_mlp == true ? Array(repeating: false, count: cfg.n_layers) : nil)
    }
}
