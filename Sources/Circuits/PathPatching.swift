/// Path patching (Wang et al. 2022): the effect of senders on receivers through the direct paths only.
///
/// 1. Run the clean prompts with each sender's output replaced by its corrupted value and every other
///    component's output between the senders and the receivers frozen at its clean value; record the
///    receivers' inputs.
/// 2. Rerun the clean prompts with the receivers' inputs replaced by the recorded ones (everything
///    downstream recomputed, resumed by the patched-run engine from the clean run before the first receiving
///    block), and measure the metric.
///
/// For a single sender and receiver this equals patching the edge `sender → receiver`.
///
/// ```swift
/// let patching = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff)
/// let effect = try patching.pathPatching(senders: ["a0.h1"], receivers: ["a1.h3<k>"]).effect
/// ```
public struct PathPatchingResult: Codable {
    public let senders: [String]
    public let receivers: [String]
    /// The metric of the path-patched run.
    public let value: Float
    public let cleanValue: Float
    public let corruptedValue: Float
    /// `(value − clean) / (corrupted − clean)`: the fraction of the full corruption's effect that flows
    /// through these paths; NaN when clean and corrupted (nearly) coincide (``MetricSpan/isDegenerate``).
    public var effect: Float {
        MetricSpan(zero: cleanValue, one: corruptedValue).fraction(value)
    }
}

/// Parses path-patching endpoints: `a3.h7`, `m5`, `input`, `logits`, a receiver input `a3.h7<q>`, or a whole
/// layer by any name ``HookNameResolver`` reads as its attention or MLP output (`blocks.7.attn` /
/// `layers.7.self_attn` = all heads of layer 7; `blocks.7.mlp` / `layers.7.mlp`; negative layers count back).
enum PathEndpoint {
    static func senders(_ text: String, graph: ComputationGraph, resolver: HookNameResolver) throws -> [ComputationGraph.Sender] {
        if text == "input" { return [.input] }
        switch wholeLayer(text, resolver: resolver) {
        case let .attention(layer): return (0..<graph.headCount).map { .head(layer: layer, head: $0) }
        case let .mlp(layer): return [.mlp(layer: layer)]
        case nil: break
        }
        if let match = graph.senders.first(where: { $0.name == text }) { return [match] }
        throw unknown(text, graph: graph)
    }

    static func receivers(_ text: String, graph: ComputationGraph, resolver: HookNameResolver) throws -> [ComputationGraph.Receiver] {
        if text == "logits" { return [.logits] }
        switch wholeLayer(text, resolver: resolver) {
        case let .attention(layer):
            return graph.receivers.filter { r in
                switch r {
                case let .query(l, _), let .key(l, _), let .value(l, _): return l == layer
                default: return false
                }
            }
        case let .mlp(layer): return [.mlp(layer: layer)]
        case nil: break
        }
        if let match = graph.receivers.first(where: { $0.name(groupedQuery: graph.groupedQuery) == text }) { return [match] }
        if let node = graph.senders.first(where: { $0.name == text }) { return graph.inputs(of: node) }
        throw unknown(text, graph: graph)
    }

    /// An unknown endpoint, with the names this model's graph has (grouped-query models read keys and values
    /// per key-value head, `a1.kv0<k>`, so `a1.h1<k>` is not one of them).
    static func unknown(_ text: String, graph: ComputationGraph) -> CircuitError {
        let last = graph.layerCount - 1
        var names = "input, a0.h0 … a\(last).h\(graph.headCount - 1)"
        if graph.hasMLPs { names += ", m0 … m\(last)" }
        let kv = graph.groupedQuery ? "kv" : "h"
        names += ", logits; head inputs a\(last).h0<q>, a\(last).\(kv)0<k>, a\(last).\(kv)0<v>"
        if graph.groupedQuery { names += " (keys and values per key-value head kv0 … kv\(graph.keyValueHeadCount - 1))" }
        return CircuitError.unknownNode(name: text, known: names)
    }

    enum WholeLayer { case attention(Int), mlp(Int) }

    /// A name the resolver reads as a layer's attention output (all its heads) or MLP output.
    static func wholeLayer(_ text: String, resolver: HookNameResolver) -> WholeLayer? {
        guard let point = (try? resolver.resolve(text)).flatMap(HookPoint.init(name:)), let layer = point.layer else { return nil }
        switch point.kind {
        case .attnOut: return .attention(layer)
        case .mlpOut: return .mlp(layer)
        default: return nil
        }
    }
}

extension EdgePatching {
    /// Path patching from `senders` to `receivers` (names as in ``PathEndpoint``), per the definition above.
    public func pathPatching(senders senderNames: [String], receivers receiverNames: [String]) throws -> PathPatchingResult {
        let resolver = model.hookNameResolver
        let senderSet = try senderNames.flatMap { try PathEndpoint.senders($0, graph: graph, resolver: resolver) }
        let receiverSet = try receiverNames.flatMap { try PathEndpoint.receivers($0, graph: graph, resolver: resolver) }
        let senderIndices = Set(senderSet.map { graph.index(of: $0) })
        let layers = model.layerCount
        let cleanOutputs = try Self.senderOutputs(model: model, batch: pairs.clean, graph: graph).outputs

        // Run 1: senders corrupted, every other sender frozen clean; record the receivers' inputs.
        let freeze = ForwardHooks()
        var recorded: [HookPoint: Tensor] = [:]
        func output(_ s: Int) -> Tensor { senderIndices.contains(s) ? sourceOutputs[s] : cleanOutputs[s] }
        freeze.add(.residPre(0)) { x, _ in x + (output(0) - cleanOutputs[0]) }
        for l in 0..<layers {
            let heads = graph.index(of: .head(layer: l, head: 0))
            if model.blocks[l].headsShareNorm {
                // Behind a post-attention norm the heads' outputs are shares of hook_attn_out, which they sum to.
                freeze.add(.attnOut(l)) { _, _ in
                    (1..<graph.headCount).reduce(output(heads)) { $0 + output(heads + $1) }
                }
            } else {
                freeze.add(.result(l)) { x, _ in
                    Tensor.stack((0..<graph.headCount).map { output(heads + $0) }, axis: 2)
                }
            }
            if graph.hasMLPs {
                let mlp = graph.index(of: ComputationGraph.Sender.mlp(layer: l))
                freeze.add(.mlpOut(l)) { _, _ in output(mlp) }
            }
            for point in [HookPoint.qInput(l), .kInput(l), .vInput(l)] + (graph.hasMLPs ? [.mlpIn(l)] : []) {
                freeze.add(point) { x, _ in recorded[point] = x; return x }
            }
        }
        let final = HookPoint.residPost(layers - 1)
        freeze.add(final) { x, _ in recorded[final] = x; return x }
        _ = model.forward(pairs.clean, hooks: freeze, logitPositions: .none)

        // Run 2: the clean run with only the receivers' inputs replaced, resumed before the first receiving block.
        let rerun = ForwardHooks()
        var replacesLogits = false
        for receiver in receiverSet {
            switch receiver {
            case let .query(l, h): replaceSlot(rerun, .qInput(l), slot: h, recorded)
            case let .key(l, g): replaceSlot(rerun, .kInput(l), slot: g, recorded)
            case let .value(l, g): replaceSlot(rerun, .vInput(l), slot: g, recorded)
            case let .mlp(l): rerun.add(.mlpIn(l)) { _, _ in recorded[.mlpIn(l)]! }
            case .logits: replacesLogits = true
            }
        }
        let start = receiverSet.map { $0.layer(layerCount: layers) }.min() ?? layers
        let logits = runs.logits(variants: 1, from: start, hooks: rerun, final: replacesLogits ? { _ in recorded[final]! } : nil)
        return PathPatchingResult(senders: senderSet.map(\.name),
                                  receivers: receiverSet.map { $0.name(groupedQuery: graph.groupedQuery) },
                                  value: metric(logits).item, cleanValue: cleanValue, corruptedValue: corruptedValue)
    }

    /// Replaces one head's slot of a split q/k/v input with its recorded value; other slots keep the rerun's.
    private func replaceSlot(_ hooks: ForwardHooks, _ point: HookPoint, slot: Int, _ recorded: [HookPoint: Tensor]) {
        hooks.add(point) { x, _ in
            let keep = Tensor(shape: [1, 1, x.shape[2], 1], scalars: (0..<x.shape[2]).map { $0 == slot ? 0 : 1 })
            return x * keep + recorded[point]! * (1 - keep)
        }
    }

    /// Path patching from every sender node to every receiver node: `[senders, receivers]` effects.
    public func pathPatchingSweep(senders: [String], receivers: [String]) throws -> [[PathPatchingResult]] {
        try senders.map { s in try receivers.map { r in try pathPatching(senders: [s], receivers: [r]) } }
    }
}
