import Circuits
import Foundation

/// Every code block of the seed circuit-discovery guide, in Swift, as runnable functions.
///
/// Each returns the lines the block prints. `swift run guide-examples --model DIR` runs them all.
public enum SeedGuide {
    /// 1. Direct logit attribution.
    public static func directLogitAttribution(_ model: LanguageModel, text: String) throws -> [String] {
        let result = try model.directLogitAttribution(text: text, targetToken: nil, position: -1)
        return [
            "Target: '\(model.text(of: result.targets[0]))' (id=\(result.targets[0]))",
            "Attention contributions per layer: \(result.attentionContributions)",
            "MLP contributions per layer: \(result.mlpContributions)",
            "Sum of contributions \(result.totals[0]) vs logit \(result.logits[0])",
        ]
    }

    /// 2. Residual stream analysis.
    public static func residualStream(_ model: LanguageModel, text: String) throws -> [String] {
        let trace = try model.trace(text)
        let rs = trace.residualStream
        var lines: [String] = []
        for layer in 0..<model.model.layerCount {
            let contribution = try rs.layerContribution(layer)
            let last = contribution.select(axis: 0, 0).select(axis: 0, -1 + contribution.shape[1])
            lines.append("Layer \(layer): contribution magnitude = \(String(format: "%.4f", last.squared().sum().item.squareRoot()))")
        }
        let layer = model.model.layerCount / 2
        let pre = try rs.residPre(layer), attn = try rs.attnContribution(layer), mlp = try rs.mlpContribution(layer)
        let mid = try rs.residMid(layer), post = try rs.residPost(layer)
        lines.append("resid_pre + attn + mlp − resid_post: \((pre + attn + mlp).maxAbsDifference(post)); mid check \((pre + attn).maxAbsDifference(mid))")
        return lines
    }

    /// 3. Path patching.
    public static func pathPatching(_ model: LanguageModel, clean: String, corrupted: String) throws -> [String] {
        let last = model.model.layerCount - 1
        let result = try model.pathPatching(clean: clean, corrupted: corrupted, sender: "layers.0.self_attn",
                                            receiver: "layers.\(last).self_attn", metric: .l2)
        return ["Path effect: \(String(format: "%.4f", result.effect))", "Senders: \(result.senders.count) heads, receivers: \(result.receivers.count) inputs"]
    }

    /// Scanning multiple paths.
    public static func scanPaths(_ model: LanguageModel, clean: String, corrupted: String) throws -> [String] {
        var lines: [String] = []
        let layers = model.model.layerCount
        for senderLayer in 0..<layers {
            for receiverLayer in (senderLayer + 1)..<Swift.max(senderLayer + 1, layers) {
                let result = try model.pathPatching(clean: clean, corrupted: corrupted, sender: "layers.\(senderLayer).self_attn",
                                                    receiver: "layers.\(receiverLayer).self_attn")
                if Swift.abs(result.effect) > 0.05 {
                    lines.append("L\(senderLayer).attn -> L\(receiverLayer).attn: \(String(format: "%.4f", result.effect))")
                }
            }
        }
        return lines
    }

    /// 4. ACDC.
    public static func acdc(_ model: LanguageModel, clean: String, corrupted: String, threshold: Float = 0.01) throws -> [String] {
        let circuit = try model.acdc(clean: clean, corrupted: corrupted, threshold: threshold)
        var lines = [circuit.summary()]
        for edge in circuit.edges.sorted(by: { Swift.abs(circuit.scores[$0] ?? 0) > Swift.abs(circuit.scores[$1] ?? 0) }).prefix(10) {
            lines.append("  \(circuit.graph.name(of: edge)): effect=\(String(format: "%.4f", circuit.scores[edge] ?? 0))")
        }
        lines.append(circuit.dot().components(separatedBy: "\n").first ?? "")
        return lines
    }

    /// Full workflow: DLA, activation patching, ACDC, then path patching between the circuit's nodes.
    public static func workflow(_ model: LanguageModel, clean: String, corrupted: String) throws -> [String] {
        var lines = try directLogitAttribution(model, text: clean)
        let patching = try model.activationPatching(clean: clean, corrupted: corrupted, component: .attnOut)
        lines.append("Activation patching attn_out, largest: \(patching.top(3).map { "\($0.labels) \($0.value)" })")
        let circuit = try model.acdc(clean: clean, corrupted: corrupted, threshold: 0.01)
        lines.append(circuit.summary())
        let heads = circuit.nodes.filter { $0.hasPrefix("a") }
        for sender in heads {
            for receiver in heads + ["logits"] where sender != receiver {
                guard let pp = try? model.pathPatching(clean: clean, corrupted: corrupted, sender: sender, receiver: receiver) else { continue }
                if Swift.abs(pp.effect) > 0.01 { lines.append("\(sender) -> \(receiver): \(String(format: "%.4f", pp.effect))") }
            }
        }
        return lines
    }

    /// 5. Attribution patching.
    public static func attributionPatching(_ model: LanguageModel, clean: String, corrupted: String) throws -> [String] {
        let result = try model.attributionPatching(clean: clean, corrupted: corrupted, component: .residPost, metric: .l2)
        return ["Attribution scores [layer, position]: \(result.values.prefix(12))..."]
    }
}
