import Foundation
import Testing
import Tensors
import LanguageModels

/// OLMoE's, Mixtral's and the Qwen mixtures' mixture-of-experts MLP (fixtures by scripts/make_family_fixtures.py `olmoe`
/// and `qwen_moe`; logits, KV cache, block structure and export are in FamilyTests and FamilySavingTests): the routing
/// against transformers' router, the hook points (the shared expert's too), gradients against torch autograd, and
/// config errors.
@Suite struct MixtureOfExpertsTests {
    static let names = ["olmoe", "olmoe_norm_bf16", "mixtral", "qwen2_moe", "qwen3_moe"]

    static func batch(_ name: String) throws -> TokenBatch {
        TokenBatch((try Fixtures.reference(name)["batch"] as! [String: Any])["input_ids"] as! [[Int]])
    }

    /// The chosen experts (as sets: transformers' order among the k is that of torch.topk) are transformers'.
    @Test(arguments: names) func routingMatchesTransformers(name: String) throws {
        let model = try Fixtures.model(name)
        let expected = try Fixtures.reference(name)["routing"] as! [Any]
        let hooks = ForwardHooks()
        hooks.cache { $0.hasSuffix("hook_expert_indices") }
        _ = model.forward(try Self.batch(name), hooks: hooks)
        #expect(expected.count == model.layerCount)
        for (l, entry) in expected.enumerated() {
            guard let layer = entry as? [[[Int]]] else {
                #expect(model.blocks[l].mixture == nil && model.blocks[l].mlp != nil, "\(name) layer \(l) is dense in transformers")
                continue
            }
            let k = layer[0][0].count
            let ours = hooks.cached[HookPoint.expertIndices(l).name]!.scalars.map { Int($0) }
            let theirs = layer.flatMap { $0 }
            #expect(ours.count == theirs.count * k)
            for (t, chosen) in theirs.enumerated() {
                #expect(Set(ours[(t * k)..<((t + 1) * k)]) == Set(chosen), "\(name) layer \(l) token \(t)")
            }
        }
    }

    /// Equal probabilities are broken as torch.topk breaks them on the CPU (both of its paths), in order.
    @Test func tiesAreBrokenAsTorchBreaksThem() throws {
        let url = Fixtures.models.deletingLastPathComponent().appendingPathComponent("router_ties.json")
        let cases = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [[String: Any]]
        #expect(cases.count > 400)
        var lowerIndexFirstDiffers = 0
        for (i, row) in cases.enumerated() {
            let values = flatFloats(row["values"]!), k = row["k"] as! Int, expected = row["indices"] as! [Int]
            #expect(RouterTopK.indices(values, k: k) == expected, "case \(i): \(values.count) values, k \(k)")
            if Tensor(shape: [values.count], scalars: values).topK(k).indices[0] != expected { lowerIndexFirstDiffers += 1 }
        }
        #expect(lowerIndexFirstDiffers > 100, "the cases do not exercise torch's tie-breaking")
    }

    /// The hook points: logits and probabilities over every expert, the chosen weights (summing to 1 when the
    /// model renormalizes them), each expert's rows only for its tokens, and `hook_mlp_out` equal to a dense
    /// construction from those hooks and the weights (every expert on every token, masked by the routing).
    @Test(arguments: names) func hooksDescribeTheRouting(name: String) throws {
        let model = try Fixtures.model(name)
        let batch = try Self.batch(name)
        let hooks = ForwardHooks()
        hooks.cache { _ in true }
        _ = model.forward(batch, hooks: hooks)
        let tokens = batch.tokens.count * batch.tokens[0].count
        for block in model.blocks {
            guard let mixture = block.mixture else { continue }
            let l = block.layer, names = block.names
            let experts = mixture.experts.count, k = mixture.expertsPerToken
            for point in [HookPoint.routerLogits(l), .expertWeights(l), .expertIndices(l), .topKWeights(l)] {
                #expect(model.hookNames.contains(point.name))
            }
            #expect(!model.hookNames.contains(HookPoint.mlpPost(l).name))
            #expect(try model.hookNameResolver.resolve("blocks.\(l).mlp.experts.\(experts - 1).hook_post") == "blocks.\(l).mlp.experts.\(experts - 1).hook_post")
            let logits = hooks.cached[names.routerLogits]!, probabilities = hooks.cached[names.expertWeights]!
            #expect(logits.shape == [2, 12, experts])
            #expect(probabilities.maxAbsDifference(logits.softmax(axis: -1)) < 1e-6)
            let indices = hooks.cached[names.expertIndices]!.scalars.map { Int($0) }
            let weights = hooks.cached[names.topKWeights]!
            #expect(weights.shape == [2, 12, k])
            let input = block.ln2!(hooks.cached[names.mlpIn]!, hooks: nil, scaleName: "", normalizedName: "").reshaped([tokens, -1])
            var dense = Tensor.zeros([tokens, model.dModel])
            var routed = 0
            for e in 0..<experts {
                let rows = (0..<tokens).filter { t in indices[(t * k)..<((t + 1) * k)].contains(e) }
                let post = hooks.cached["blocks.\(l).mlp.experts.\(e).hook_post"]
                #expect(post?.shape[0] ?? 0 == rows.count, "layer \(l) expert \(e): rows for its tokens only")
                routed += rows.count
                // Expert e on every token, weighted where e was chosen.
                let expert = mixture.experts[e]
                let all = expert.output(expert.activation(expert.gate!(input)) * expert.input(input))
                let scale = Tensor(shape: [tokens, 1], scalars: (0..<tokens).map { t in
                    (0..<k).first { indices[t * k + $0] == e }.map { weights.scalars[t * k + $0] } ?? 0
                })
                dense = dense + all * scale
            }
            if let shared = mixture.shared {
                // The shared expert on every token, scaled by its gate's sigmoid.
                let s = mixture.sharedExpertHookNames
                for name in [s.gate, s.input, s.post, s.scale] { #expect(model.hookNames.contains(name)) }
                let scale = hooks.cached[s.scale]!
                #expect(scale.shape == [2, 12, 1])
                #expect(scale.reshaped([tokens, 1]).maxAbsDifference(shared.gate(input).sigmoid()) < 1e-6)
                #expect(hooks.cached[s.post]!.shape == [2, 12, shared.expert.input.outputSize])
                let all = shared.expert.output(shared.expert.activation(shared.expert.gate!(input)) * shared.expert.input(input))
                dense = dense + all * scale.reshaped([tokens, 1])
            }
            #expect(routed == tokens * k)
            for t in 0..<tokens {
                let chosen = (0..<k).map { probabilities.scalars[t * experts + indices[t * k + $0]] }
                let total = chosen.reduce(0, +)
                for j in 0..<k {
                    let expected = mixture.normalizesTopK ? chosen[j] / total : chosen[j]
                    #expect(Swift.abs(weights.scalars[t * k + j] - expected) < 1e-6)
                }
                // The chosen experts are the most probable.
                let least = chosen.min()!
                #expect((0..<experts).filter { probabilities.scalars[t * experts + $0] > least }.count < k)
            }
            #expect(hooks.cached[names.mlpOut]!.reshaped([tokens, -1]).maxAbsDifference(dense) < 1e-5, "layer \(l)")
        }
    }

    /// Replacing `hook_expert_indices` forces the routing: every token through experts 0 and 1 (with their
    /// probabilities as weights) gives the dense construction of that routing.
    @Test func hookedIndicesForceTheRouting() throws {
        let model = try Fixtures.model("olmoe")
        let batch = TokenBatch([[5, 9, 14, 2, 77]])
        let hooks = ForwardHooks()
        hooks.add(HookPoint.expertIndices(1)) { indices, _ in
            Tensor(shape: indices.shape, scalars: (0..<indices.count).map { Float($0 % 2) })
        }
        hooks.cache { _ in true }
        _ = model.forward(batch, hooks: hooks)
        let block = model.blocks[1], mixture = try #require(block.mixture)
        let input = block.ln2!(hooks.cached[block.names.mlpIn]!, hooks: nil, scaleName: "", normalizedName: "").reshaped([5, -1])
        let probabilities = hooks.cached[block.names.expertWeights]!.reshaped([5, -1])
        var expected = Tensor.zeros([5, model.dModel])
        for e in 0..<2 {
            let expert = mixture.experts[e]
            expected = expected + expert(input, hooks: nil, names: block.names) * probabilities.slice(axis: 1, e..<(e + 1))
        }
        #expect(hooks.cached[block.names.mlpOut]!.reshaped([5, -1]).maxAbsDifference(expected) < 1e-5)
        #expect(hooks.cached["blocks.1.mlp.experts.2.hook_post"] == nil)
    }

    /// Gradients of `logits[:, -1, 5] - logits[:, -1, 9]` (summed over the batch) with respect to each block's
    /// `resid_mid` and the first router's weight match torch autograd: the chosen experts are constants, the
    /// gradient flows through them and through the routing weights into the router.
    @Test(arguments: names) func gradientsMatchTorchAutograd(name: String) throws {
        let reference = try Fixtures.reference(name)["gradients"] as! [String: Any]
        let model = try Fixtures.model(name)
        let batch = try Self.batch(name)
        let parameters = model.parameters
        let routerLayer = reference["router_layer"] as! Int
        let routerIndex = try #require(parameters.firstIndex { $0.name == "blocks.\(routerLayer).mixture.router.weight" })
        let (metric, gradients, router) = withGradients { tape -> (Float, [String: Tensor], Tensor) in
            let watchedRouter = tape.watch(parameters[routerIndex].tensor)
            var values = parameters.map(\.tensor)
            values[routerIndex] = watchedRouter
            let trainable = model.replacingParameters(values)
            let hooks = ForwardHooks()
            let watched = WatchedActivations((0..<model.layerCount).map { HookPoint.residMid($0).name }, hooks: hooks, tape: tape)
            let logits = trainable.forward(batch, hooks: hooks)
            let last = logits.slice(axis: 1, 11..<12)
            let value = (last.slice(axis: 2, 5..<6) - last.slice(axis: 2, 9..<10)).sum()
            let byName = watched.gradients(of: value, on: tape)
            return (value.scalars[0], byName, tape.gradient(of: value, withRespectTo: watchedRouter))
        }
        #expect(Swift.abs(metric - Float(reference["metric"] as! Double)) < 1e-4)
        for (l, expected) in (reference["resid_mid"] as! [Any]).enumerated() {
            let theirs = flatFloats(expected), ours = gradients[HookPoint.residMid(l).name]!.scalars
            let scale = theirs.map(Swift.abs).max()!
            let worst = zip(ours, theirs).map { Swift.abs($0 - $1) }.max()!
            #expect(scale > 1e-3 && worst <= 1e-4 * scale, "\(name) layer \(l): max |Δ gradient| \(worst) at scale \(scale)")
        }
        let theirs = flatFloats(reference["router"]!)
        let worst = zip(router.scalars, theirs).map { Swift.abs($0 - $1) }.max()!, scale = theirs.map(Swift.abs).max()!
        #expect(scale > 1e-3 && worst <= 1e-4 * scale, "\(name) router: max |Δ gradient| \(worst) at scale \(scale)")
    }

    @Test func configurationReadsTheExperts() throws {
        let plain = try ModelConfiguration(contentsOf: Fixtures.directory("olmoe"))
        #expect(plain.family == .olmoe && plain.clipQKV == 1.5 && plain.qkNorm && !plain.tiedEmbeddings && plain.nKVHeads == 2)
        #expect(plain.mixture == ModelConfiguration.Mixture(experts: 8, expertsPerToken: 2, normalizesTopK: false))
        #expect(plain.optionsInForce.contains("mixture of experts: 2 of 8 experts per token"))
        let normalized = try ModelConfiguration(contentsOf: Fixtures.directory("olmoe_norm_bf16"))
        #expect(normalized.mixture == ModelConfiguration.Mixture(experts: 6, expertsPerToken: 3, normalizesTopK: true))
        #expect(normalized.tiedEmbeddings && normalized.clipQKV == nil)
        #expect(try Fixtures.model("olmoe").blocks[0].mixture!.experts[0].input.matrix.shape == [16, 32])
        let mixtral = try ModelConfiguration(contentsOf: Fixtures.directory("mixtral"))
        #expect(mixtral.family == .llama(.mixtral) && mixtral.slidingWindows == [5, 5] && mixtral.normEpsilon == 1e-5)
        #expect(mixtral.mixture == ModelConfiguration.Mixture(experts: 5, expertsPerToken: 2, normalizesTopK: true))
    }

    /// Malformed OLMoE configurations are refused naming the field.
    @Test(arguments: [
        (#""num_experts_per_tok": 9"#, "num_experts_per_tok"), (#""num_experts": 0"#, "num_experts"),
        (#""num_experts": "eight""#, "num_experts"), (#""head_dim": 16"#, "head_dim"), (#""clip_qkv": -1.0"#, "clip_qkv"),
        (#""norm_topk_prob": 1.5"#, "norm_topk_prob"),
    ]) func malformedConfigurationsNameTheField(field: String, named: String) throws {
        let url = Fixtures.directory("olmoe").appendingPathComponent("config.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let replacement = try JSONSerialization.jsonObject(with: Data("{\(field)}".utf8)) as! [String: Any]
        object.merge(replacement) { $1 }
        let data = try JSONSerialization.data(withJSONObject: object)
        do {
            _ = try ModelConfiguration(json: data, source: "config.json")
            Issue.record("\(field) was accepted")
        } catch {
            #expect("\(error)".contains(named), "\(error)")
        }
    }
}

/// The Qwen mixtures' configuration: the fixtures' fields, transformers' defaults, and malformed fields named.
@Suite struct QwenMixtureConfigurationTests {
    @Test func fixturesReadTheirExpertsAndDenseLayers() throws {
        let qwen2 = try ModelConfiguration(contentsOf: Fixtures.directory("qwen2_moe"))
        #expect(qwen2.family == .llama(.qwen2MoE) && qwen2.attentionQKVBias && !qwen2.attentionOutputBias && !qwen2.qkNorm)
        #expect(qwen2.mixture == ModelConfiguration.Mixture(experts: 6, expertsPerToken: 2, normalizesTopK: false, expertWidth: 12,
                                                            sharedExpertWidth: 20, denseLayers: [1]))
        #expect(qwen2.slidingWindows == [5, nil, nil] && qwen2.dMLP == 24 && !qwen2.tiedEmbeddings && qwen2.nKVHeads == 2)
        #expect(qwen2.optionsInForce.contains("a gated shared expert of width 20"))
        let model = try Fixtures.model("qwen2_moe")
        #expect(model.blocks.map { $0.mixture == nil } == [false, true, false])
        #expect(model.blocks[1].mlp!.input.outputSize == 24 && model.blocks[0].mixture!.experts[0].input.outputSize == 12)
        #expect(model.blocks[0].mixture!.shared!.expert.input.outputSize == 20)
        let qwen3 = try ModelConfiguration(contentsOf: Fixtures.directory("qwen3_moe"))
        #expect(qwen3.family == .llama(.qwen3MoE) && qwen3.qkNorm && qwen3.tiedEmbeddings && qwen3.nKVHeads == 1 && qwen3.dHead == 16)
        #expect(qwen3.mixture == ModelConfiguration.Mixture(experts: 8, expertsPerToken: 3, normalizesTopK: true, expertWidth: 12,
                                                            denseLayers: [0, 2]))
    }

    static func minimal(_ modelType: String, _ extra: String = "") -> Data {
        Data(#"{"model_type": "\#(modelType)", "hidden_size": 32, "intermediate_size": 24, "num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 64\#(extra)}"#.utf8)
    }

    /// Absent fields take the defaults of transformers' Qwen2MoeConfig / Qwen3MoeConfig; layer l is dense when listed in
    /// mlp_only_layers or when (l + 1) is not a multiple of decoder_sparse_step.
    @Test func absentFieldsTakeTransformersDefaults() throws {
        let qwen2 = try ModelConfiguration(json: Self.minimal("qwen2_moe"))
        #expect(qwen2.mixture == ModelConfiguration.Mixture(experts: 60, expertsPerToken: 4, normalizesTopK: false, expertWidth: 1408,
                                                            sharedExpertWidth: 5632))
        #expect(qwen2.attentionQKVBias && qwen2.slidingWindows.allSatisfy { $0 == nil } && qwen2.normEpsilon == 1e-6)
        let qwen3 = try ModelConfiguration(json: Self.minimal("qwen3_moe"))
        #expect(qwen3.mixture == ModelConfiguration.Mixture(experts: 128, expertsPerToken: 8, normalizesTopK: false, expertWidth: 768))
        #expect(!qwen3.attentionQKVBias && qwen3.maxPositions == 32_768)
        let sparse = try ModelConfiguration(json: Self.minimal("qwen3_moe", #", "decoder_sparse_step": 3, "mlp_only_layers": [5, 40]"#))
        #expect(sparse.mixture?.denseLayers == [0, 1, 3, 4, 5])
        let windows = try ModelConfiguration(json: Self.minimal("qwen3_moe", #", "use_sliding_window": true, "sliding_window": 7"#))
        #expect(windows.slidingWindows == Array(repeating: 7, count: 6))
        let qwen2Windows = try ModelConfiguration(json: Self.minimal("qwen2_moe", #", "use_sliding_window": true, "sliding_window": 7, "max_window_layers": 4"#))
        #expect(qwen2Windows.slidingWindows == [7, nil, 7, nil, nil, nil])
        #expect(try ModelConfiguration(json: Self.minimal("qwen2_moe", #", "qkv_bias": false"#)).attentionQKVBias == false)
    }

    @Test(arguments: [
        ("qwen2_moe", #""moe_intermediate_size": 0"#, "moe_intermediate_size"),
        ("qwen2_moe", #""shared_expert_intermediate_size": -4"#, "shared_expert_intermediate_size"),
        ("qwen2_moe", #""decoder_sparse_step": 0"#, "decoder_sparse_step"),
        ("qwen2_moe", #""mlp_only_layers": "1""#, "mlp_only_layers"),
        ("qwen2_moe", #""num_experts_per_tok": 7"#, "num_experts_per_tok"),
        ("qwen2_moe", #""qkv_bias": "yes""#, "qkv_bias"),
        ("qwen2_moe", #""layer_types": ["sliding_attention", "full_attention", "full_attention"], "use_sliding_window": false"#, "layer_types[0]"),
        ("qwen2_moe", #""sliding_window": 0"#, "sliding_window"),
        ("qwen3_moe", #""num_local_experts": 0"#, "num_local_experts"),
        ("qwen3_moe", #""norm_topk_prob": 2"#, "norm_topk_prob"),
        ("qwen3_moe", #""decoder_sparse_step": -2"#, "decoder_sparse_step"),
    ]) func malformedConfigurationsNameTheField(name: String, field: String, named: String) throws {
        let url = Fixtures.directory(name).appendingPathComponent("config.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let replacement = try JSONSerialization.jsonObject(with: Data("{\(field)}".utf8)) as! [String: Any]
        object.merge(replacement) { $1 }
        do {
            _ = try ModelConfiguration(json: try JSONSerialization.data(withJSONObject: object), source: "config.json")
            Issue.record("\(field) was accepted")
        } catch {
            #expect("\(error)".contains(named), "\(error)")
        }
    }

    /// `hook_shared_expert_gate` scales the shared expert's output: zeroing it removes exactly that output from the MLP's.
    @Test func sharedExpertGateHookScalesItsOutput() throws {
        let model = try Fixtures.model("qwen2_moe")
        let batch = TokenBatch([[5, 9, 14, 2, 77, 3]])
        let block = model.blocks[2], mixture = try #require(block.mixture), shared = try #require(mixture.shared)
        let plain = ForwardHooks()
        plain.cache { _ in true }
        _ = model.forward(batch, hooks: plain)
        let zeroed = ForwardHooks()
        zeroed.add(mixture.sharedExpertHookNames.scale) { scale, _ in Tensor.zeros(scale.shape) }
        zeroed.cache([block.names.mlpOut])
        _ = model.forward(batch, hooks: zeroed)
        let input = block.ln2!(plain.cached[block.names.mlpIn]!, hooks: nil, scaleName: "", normalizedName: "")
        let sharedOutput = shared.expert.output(plain.cached[mixture.sharedExpertHookNames.post]!)
        let expected = plain.cached[block.names.mlpOut]! - sharedOutput * shared.gate(input).sigmoid()
        #expect(zeroed.cached[block.names.mlpOut]!.maxAbsDifference(expected) < 1e-5)
        #expect(sharedOutput.maxAbsDifference(Tensor.zeros(sharedOutput.shape)) > 0.1)
    }
}
