import Circuits
import Foundation

/// The code examples of the README and of the DocC comments on the core types, compiled and run here, so
/// that a documented call that stops compiling breaks the build (each function names the doc it mirrors;
/// keep them in step). `lm` is a loaded model; `clean` / `corrupted` a prompt pair of equal token length.
public enum DocExamples {
    /// README, "From Swift"; `task` is a task file (the embedded model's `task.json`).
    public static func readme(_ lm: LanguageModel, task: URL) throws -> [String] {
        let trace = try lm.trace("The capital of France is")            // activations under TransformerLens names
        let z = try trace.activations["blocks.0.attn.hook_z"]           // [batch, pos, heads, d_head]
        let dla = try lm.directLogitAttribution(text: "The capital of France is")
        let pairs = try TaskFile(contentsOf: task).promptPairs(for: lm)
        let patching = try EdgePatching(model: lm.model, pairs: pairs, metric: .logitDiff)
        let circuit = Circuit.top(patching.edgeAttribution(integratedGradientSteps: 5), count: 200).pruned()
        return ["\(z.shape)", "\(dla.headContributions.shape) \(dla.maxError)", circuit.summary(),
                "\(patching.faithfulness(of: circuit))"]
    }

    /// ``TransformerModel`` and ``HookPoint``.
    public static func model(_ lm: LanguageModel) throws -> [String] {
        let ids = try lm.tokens("The capital of France is")
        let logits = lm.model.forward(TokenBatch([ids]))      // [1, pos, vocab]
        let z = HookPoint.z(0)                    // blocks.0.attn.hook_z, [batch, pos, head, d_head]
        return ["\(logits.shape)", z.name, "\(z.layout.headAxis!)",
                "\(HookPoint(name: "blocks.0.hook_resid_pre") == .residPre(0))"]
    }

    /// ``ForwardHooks``, ``Intervention`` and ``ActivationCache``.
    public static func hooks(_ lm: LanguageModel, text: String) throws -> [String] {
        let model = lm.model, batch = TokenBatch([try lm.tokens(text)])
        let hooks = ForwardHooks()
        hooks.add(.z(0)) { z, _ in z * 0 }                     // ablate every head of layer 0
        hooks.cache([.residPost(1)])
        _ = model.forward(batch, hooks: hooks)
        let resid = hooks.cached[HookPoint.residPost(1).name]

        let direction = Tensor.zeros([model.dModel])
        let ablate = Intervention(at: .z(1), heads: [2], .zero)
        let steer = Intervention(at: "blocks.1.hook_resid_post", .add(direction * 4))
        let (logits, _) = try model.run(batch, interventions: [ablate, steer])

        let (_, cache) = try model.runWithCache(batch)
        let z = try cache["blocks.0.attn.hook_z"]            // [batch, pos, heads, dHead]
        let last = try cache.activation("resid_post", layer: -1)
        let pattern = try cache[.pattern(0)]
        return ["\(resid!.shape)", "\(logits.shape)", "\(z.shape)", "\(last.shape)", "\(pattern.shape)"]
    }

    /// ``Trace``.
    public static func trace(_ lm: LanguageModel, text: String) throws -> [String] {
        let model = lm.model, batch = TokenBatch([try lm.tokens(text)])
        let metric = Metric(name: "logit sum") { $0.sum() }
        let trace = try model.trace(batch, cache: .kinds([.pattern, .residPost]),
                                    interventions: [Intervention(at: .z(1), heads: [3], .zero)],
                                    gradients: GradientRequest(of: metric, at: [.residPre(2)]), logitPositions: .last)
        let pattern = try trace.activations[.pattern(0)]
        let gradient = trace.gradients[HookPoint.residPre(2).name]
        return ["\(pattern.shape)", "\(gradient!.shape)"]
    }

    /// ``PatchedRuns``, ``ActivationPatching``, ``EdgePatching`` and path patching.
    public static func patching(_ lm: LanguageModel, clean: String, corrupted: String) throws -> [String] {
        let model = lm.model
        let pairs = try lm.pair(clean: clean, corrupted: corrupted)
        let metric = Metric.logitDifference(answers: pairs.answers, wrongs: pairs.wrongs)

        let (_, corruptedCache) = try model.runWithCache(pairs.corrupted)
        let runs = try PatchedRuns(model: model, batch: pairs.corrupted, cache: corruptedCache, metric: metric)
        let masks = [Tensor(1), Tensor(0)]
        let values = runs.metrics(masks) { chunk in
            let hooks = ForwardHooks()
            hooks.add(.z(2)) { z, _ in /* patch each variant's rows */ z }
            return runs.logits(variants: chunk.count, from: 2, hooks: hooks)
        }

        let sweep = try ActivationPatching(model: model, pairs: pairs, metric: metric).sweep(.residPre)   // [layer, position]

        let edges = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff)
        let graph = edges.graph
        let mask = EdgeMask(graph: graph, edges: [graph.edgesByName()["a0.h1->logits"]!])
        let value = edges.metrics([mask])[0]
        let effect = try edges.pathPatching(senders: ["a0.h1"], receivers: ["a1.h3<k>"]).effect

        let path = try lm.pathPatching(clean: clean, corrupted: corrupted, sender: "layers.0.self_attn",
                                       receiver: "layers.2.self_attn", metric: .l2)
        return ["\(values)", sweep.table, "\(value)", "\(effect)", "\(path.effect)"]
    }
}
