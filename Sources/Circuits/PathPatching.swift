/// Path patching (Wang et al. 2022): the effect of senders on receivers through the direct paths only.
///
/// 1. Run the clean prompts with each sender's output replaced by its corrupted value and every other
///    component's output between the senders and the receivers frozen at its clean value; record the
///    receivers' inputs.
/// 2. Rerun the clean prompts with the receivers' inputs replaced by the recorded ones (everything
///    downstream recomputed), and measure the metric.
///
/// For a single sender and receiver this equals patching the edge `sender → receiver`.
///
/// ```swift
/// let effect = try pathPatching(model: model, pairs: pairs, sender: "a0.h1", receiver: "a1.h3<k>", metric: metric)
/// ```
public struct PathPatchingResult: Codable {
    public let senders: [String]
    public let receivers: [String]
    /// The metric of the path-patched run.
    public let value: Float
    public let cleanValue: Float
    public let corruptedValue: Float
    /// `(value − clean) / (corrupted − clean)`: the fraction of the full corruption's effect that flows
    /// through these paths.
    public var effect: Float {
        let span = corruptedValue - cleanValue
        return span == 0 ? 0 : (value - cleanValue) / span
    }
}

/// Parses path-patching endpoints: `a3.h7`, `m5`, `input`, `logits`, a receiver input `a3.h7<q>`, or a whole
/// layer (`blocks.7.attn` / `layers.7.self_attn` = all heads of layer 7; `blocks.7.mlp` / `layers.7.mlp`).
enum PathEndpoint {
    static func senders(_ text: String, graph: ComputationGraph) throws -> [ComputationGraph.Sender] {
        if text == "input" { return [.input] }
        if let layer = layerSpec(text, suffixes: ["attn", "self_attn"], graph: graph) {
            return (0..<graph.headCount).map { .head(layer: layer, head: $0) }
        }
        if let layer = layerSpec(text, suffixes: ["mlp"], graph: graph) { return [.mlp(layer: layer)] }
        if let match = graph.senders.first(where: { $0.name == text }) { return [match] }
        throw CircuitError.unknownNode(text)
    }

    static func receivers(_ text: String, graph: ComputationGraph) throws -> [ComputationGraph.Receiver] {
        if text == "logits" { return [.logits] }
        if let layer = layerSpec(text, suffixes: ["attn", "self_attn"], graph: graph) {
            return graph.receivers.filter { r in
                switch r {
                case let .query(l, _), let .key(l, _), let .value(l, _): return l == layer
                default: return false
                }
            }
        }
        if let layer = layerSpec(text, suffixes: ["mlp"], graph: graph) { return [.mlp(layer: layer)] }
        if let match = graph.receivers.first(where: { $0.name(groupedQuery: graph.groupedQuery) == text }) { return [match] }
        if let node = graph.senders.first(where: { $0.name == text }) { return graph.inputs(of: node) }
        throw CircuitError.unknownNode(text)
    }

    /// The layer of `blocks.L.<suffix>`, `layers.L.<suffix>` or `model.layers.L.<suffix>` (negative L allowed).
    static func layerSpec(_ text: String, suffixes: [String], graph: ComputationGraph) -> Int? {
        var parts = text.split(separator: ".").map(String.init)
        if parts.first == "model" { parts.removeFirst() }
        guard parts.count == 3, ["blocks", "layers"].contains(parts[0]), let raw = Int(parts[1]),
              suffixes.contains(parts[2]) else { return nil }
        let layer = raw < 0 ? raw + graph.layerCount : raw
        return (0..<graph.layerCount).contains(layer) ? layer : nil
    }
}

extension EdgePatching {
    /// Path patching from `senders` to `receivers` (names as in ``PathEndpoint``), per the definition above.
    public func pathPatching(senders senderNames: [String], receivers receiverNames: [String]) throws -> PathPatchingResult {
        let senderSet = try senderNames.flatMap { try PathEndpoint.senders($0, graph: graph) }
        let receiverSet = try receiverNames.flatMap { try PathEndpoint.receivers($0, graph: graph) }
        let senderIndices = Set(senderSet.map { graph.index(of: $0) })
        let layers = model.layerCount
        let cleanOutputs = try Self.senderOutputs(model: model, batch: pairs.clean, graph: graph).outputs

        // Run 1: senders corrupted, every other sender frozen clean; record the receivers' inputs.
        let freeze = ForwardHooks()
        var recorded: [String: Tensor] = [:]
        func output(_ s: Int) -> Tensor { senderIndices.contains(s) ? sourceOutputs[s] : cleanOutputs[s] }
        freeze.add("blocks.0.hook_resid_pre") { x, _ in x + (output(0) - cleanOutputs[0]) }
        for l in 0..<layers {
            let names = BlockHookNames(layer: l), start = graph.sendersBefore(layer: l)
            freeze.add(names.result) { x, _ in
                Tensor.stack((0..<graph.headCount).map { output(start + $0) }, axis: 2)
            }
            if graph.hasMLPs { freeze.add(names.mlpOut) { _, _ in output(start + graph.headCount) } }
            for name in [names.qInput, names.kInput, names.vInput, names.mlpIn] {
                freeze.add(name) { x, _ in recorded[name] = x; return x }
            }
        }
        let finalName = "blocks.\(layers - 1).hook_resid_post"
        freeze.add(finalName) { x, _ in recorded[finalName] = x; return x }
        _ = model.forward(pairs.clean, hooks: freeze, logitPositions: .none)

        // Run 2: the clean run with only the receivers' inputs replaced.
        let rerun = ForwardHooks()
        for receiver in receiverSet {
            switch receiver {
            case let .query(l, h): replaceSlot(rerun, "blocks.\(l).hook_q_input", slot: h, recorded)
            case let .key(l, g): replaceSlot(rerun, "blocks.\(l).hook_k_input", slot: g, recorded)
            case let .value(l, g): replaceSlot(rerun, "blocks.\(l).hook_v_input", slot: g, recorded)
            case let .mlp(l):
                let name = "blocks.\(l).hook_mlp_in"
                rerun.add(name) { _, _ in recorded[name]! }
            case .logits:
                rerun.add(finalName) { _, _ in recorded[finalName]! }
            }
        }
        let logits = model.forward(pairs.clean, hooks: rerun, logitPositions: .last)
        return PathPatchingResult(senders: senderSet.map(\.name),
                                  receivers: receiverSet.map { $0.name(groupedQuery: graph.groupedQuery) },
                                  value: metric(logits).item, cleanValue: cleanValue, corruptedValue: corruptedValue)
    }

    /// Replaces one head's slot of a split q/k/v input with its recorded value; other slots keep the rerun's.
    private func replaceSlot(_ hooks: ForwardHooks, _ name: String, slot: Int, _ recorded: [String: Tensor]) {
        hooks.add(name) { x, _ in
            let keep = Tensor(shape: [1, 1, x.shape[2], 1], scalars: (0..<x.shape[2]).map { $0 == slot ? 0 : 1 })
            return x * keep + recorded[name]! * (1 - keep)
        }
    }

    /// Path patching from every sender node to every receiver node: `[senders, receivers]` effects.
    public func pathPatchingSweep(senders: [String], receivers: [String]) throws -> [[PathPatchingResult]] {
        try senders.map { s in try receivers.map { r in try pathPatching(senders: [s], receivers: [r]) } }
    }
}
