import Foundation
import Testing
import LanguageModels

/// GPT-NeoX, Gemma 1/2/3 (and Gemma-3's multimodal wrapper), Phi-3, OLMo-2, OLMo-3, SmolLM3, Phi, OLMo, OLMoE, Mixtral, Qwen2-MoE,
/// Qwen3-MoE, Ministral, Ministral 3 and the Mistral 3 multimodal wrapper against transformers (fixtures by scripts/make_family_fixtures.py):
/// configuration decoding, logits on plain and left-padded batches, block outputs, KV-cache decoding and the
/// block structure (hook points, head results, MLP outputs) of each family's options.
@Suite struct FamilyTests {
    static let families = ["gpt_neox_parallel", "gpt_neox_sequential", "gpt_neox_fp16", "gemma", "gemma2", "gemma3", "phi3",
                           "phi3_bf16", "olmo2", "olmo2_mha", "gemma3_attn_softcap", "phi3_longrope", "qwen3_yarn",
                           "phi_qk", "phi_tied_bf16", "olmo_clip", "olmo_gqa_bf16", "olmo3", "smollm3", "gemma3_multimodal",
                           "gemma3_multimodal_softcap", "olmoe", "olmoe_norm_bf16", "mixtral", "qwen2_moe", "qwen3_moe",
                           "olmo3_yarn_untruncated", "gemma3_yarn_untruncated", "llama_yarn_top_level_original",
                           "qwen2_rope_scaling_first", "ministral", "ministral3", "mistral3_ministral3", "mistral3_mistral"]

    static func worst(_ ours: Tensor, _ expected: Any) -> Float {
        let reference = flatFloats(expected)
        precondition(ours.count == reference.count, "\(ours.count) values for \(reference.count) references")
        return zip(ours.scalars, reference).map { Swift.abs($0 - $1) }.max() ?? .infinity
    }

    @Test(arguments: families) func configurationMatchesTransformers(name: String) throws {
        let configuration = try ModelConfiguration(contentsOf: Fixtures.directory(name))
        let expected = try Fixtures.reference(name)["config"] as! [String: Any]
        #expect(configuration.family.modelType == expected["model_type"] as! String)
        let layers = expected["layers"] as! [[String: Any]]
        #expect(layers.count == configuration.nLayers)
        let queryScaling = (expected["query_scaling"] as? [String: Any]).map {
            QueryPositionScaling(beta: $0["beta"] as! Double, originalMaxPositionEmbeddings: $0["original_max_position_embeddings"] as! Int)
        }
        for (l, layer) in layers.enumerated() {
            #expect(configuration.slidingWindows[l] == layer["sliding_window"] as? Int, "\(name) layer \(l) window")
            let scale = Float(layer["scaling"] as! Double)
            #expect(Swift.abs(configuration.attentionScale(layer: l) - scale) <= 1e-7 * scale, "\(name) layer \(l) scaling")
            guard !(layer["inverse_frequencies"] is NSNull) else {
                #expect(configuration.rotary(layer: l) == nil, "\(name) layer \(l) is a NoPE layer")
                continue
            }
            #expect(configuration.rotary(layer: l)!.queryScaling == queryScaling, "\(name) layer \(l) query scaling")
            let frequencies = configuration.rotary(layer: l)!.inverseFrequencies
            let reference = flatFloats(layer["inverse_frequencies"]!)
            #expect(frequencies.count == reference.count, "\(name) layer \(l): rotary dimensions")
            for (ours, theirs) in zip(frequencies, reference) {
                #expect(Swift.abs(ours - theirs) <= 2e-7 * theirs, "\(name) layer \(l): inverse frequency \(ours) vs \(theirs)")
            }
        }
    }

    @Test(arguments: families) func logitsMatchTransformers(name: String) throws {
        let batch = try Fixtures.reference(name)["batch"] as! [String: Any]
        let model = try Fixtures.model(name)
        let hooks = ForwardHooks()
        hooks.cache { $0.hasSuffix("hook_resid_post") }
        let logits = model.forward(TokenBatch(batch["input_ids"] as! [[Int]]), hooks: hooks)
        let worst = Self.worst(logits, batch["logits"]!)
        #expect(worst <= 1e-4, "\(name): max |Δ logits| = \(worst)")
        for (l, expected) in (batch["block_outputs"] as! [Any]).enumerated() {
            // Gemma's residual stream reaches ~100 (embeddings scaled by sqrt(d)): the tolerance scales with it.
            let scale = Swift.max(10, flatFloats(expected).map(Swift.abs).max()!)
            let worst = Self.worst(hooks.cached["blocks.\(l).hook_resid_post"]!, expected)
            #expect(worst <= 1e-5 * scale, "\(name) block \(l): max |Δ resid_post| = \(worst) at scale \(scale)")
        }
    }

    @Test(arguments: families) func leftPaddedLogitsMatchTransformers(name: String) throws {
        let worst = try Fixtures.paddedLogitsError(name)
        #expect(worst <= 1e-4, "\(name): max |Δ logits| at real positions = \(worst)")
    }

    /// Decoding one token at a time past the sliding window gives the full pass's logits.
    @Test(arguments: families) func keyValueCacheMatchesFullPass(name: String) throws {
        let model = try Fixtures.model(name)
        let tokens = (try Fixtures.reference(name)["batch"] as! [String: Any])["input_ids"] as! [[Int]]
        let full = model.forward(TokenBatch(tokens))
        let cache = KeyValueCache(layerCount: model.layerCount)
        let first = model.forward(TokenBatch(tokens.map { Array($0.prefix(3)) }), cache: cache)
        #expect(first.maxAbsDifference(full.slice(axis: 1, 0..<3)) < 1e-4)
        for p in 3..<tokens[0].count {
            let step = model.forward(TokenBatch(tokens.map { [$0[p]] }), cache: cache)
            #expect(step.maxAbsDifference(full.slice(axis: 1, p..<(p + 1))) < 1e-4, "\(name) position \(p)")
        }
    }

    /// Decoding a left-padded batch one token at a time past the sliding window gives transformers' logits at the
    /// real positions.
    @Test(arguments: families) func keyValueCacheOnLeftPaddedBatchMatchesTransformers(name: String) throws {
        let padded = try Fixtures.reference(name)["padded"] as! [String: Any]
        let model = try Fixtures.model(name)
        let ids = padded["input_ids"] as! [[Int]]
        let mask = (padded["attention_mask"] as! [[Int]]).map { $0.map { $0 == 1 } }
        let expected = flatFloats(padded["logits"]!)
        let vocab = model.vocabularySize, length = ids[0].count, prefix = 6
        let cache = KeyValueCache(layerCount: model.layerCount)
        var steps = [model.forward(TokenBatch(tokens: ids.map { Array($0.prefix(prefix)) }, mask: mask.map { Array($0.prefix(prefix)) }),
                                   cache: cache)]
        for p in prefix..<length {
            steps.append(model.forward(TokenBatch(tokens: ids.map { [$0[p]] }, mask: mask.map { [$0[p]] }), cache: cache))
        }
        let logits = Tensor.concatenate(steps, axis: 1)
        var worst: Float = 0
        for (b, row) in mask.enumerated() {
            for (p, real) in row.enumerated() where real {
                for v in 0..<vocab {
                    let i = (b * length + p) * vocab + v
                    worst = Swift.max(worst, Swift.abs(logits.scalars[i] - expected[i]))
                }
            }
        }
        #expect(worst <= 1e-4, "\(name): max |Δ logits| at real positions = \(worst)")
    }

    /// The published hook points add up as each family's block says, and the per-node computations of the circuit
    /// graph (`headResult`, `mlpOutput`) reproduce the forward pass's activations.
    @Test(arguments: families) func blockStructureAddsUp(name: String) throws {
        let model = try Fixtures.model(name)
        let tokens = (try Fixtures.reference(name)["batch"] as! [String: Any])["input_ids"] as! [[Int]]
        let batch = TokenBatch(tokens)
        let hooks = ForwardHooks()
        hooks.cache { _ in true }
        _ = model.forward(batch, hooks: hooks)
        let cached = hooks.cached
        let context = AttentionContext(batch: batch)
        for (l, block) in model.blocks.enumerated() {
            let n = block.names
            let residPre = cached[n.residPre]!, attnOut = cached[n.attnOut]!, mlpOut = cached[n.mlpOut]!
            #expect(model.hookNames.contains(n.residMid) == !block.parallelResidual)
            if block.parallelResidual {
                #expect(cached[n.residMid] == nil)
                #expect(cached[n.mlpIn]!.maxAbsDifference(residPre) == 0)
                #expect(cached[n.residPost]!.maxAbsDifference(residPre + attnOut + mlpOut) < 1e-5)
            } else {
                #expect(cached[n.residMid]!.maxAbsDifference(residPre + attnOut) < 1e-5)
                #expect(cached[n.mlpIn]!.maxAbsDifference(cached[n.residMid]!) == 0)
            }
            #expect(block.mlpOutput(cached[n.mlpIn]!)!.maxAbsDifference(mlpOut) < 1e-5, "\(name) layer \(l) mlpOutput")

            let mask = context.additiveMask(slidingWindow: block.attention.slidingWindow)
            let results = (0..<block.attention.heads).map {
                block.headResult($0, queryInput: residPre, keyInput: residPre, valueInput: residPre, context: context, mask: mask)
            }
            #expect(results[0].maxAbsDifference(cached[n.result]!.select(axis: 2, 0)) < 1e-5, "\(name) layer \(l) headResult")
            // The query heads of each key-value head in one pass give the forward pass's results too.
            for group in 0..<block.attention.keyValueHeads {
                let heads = Array(block.attention.grouping.queryHeads(of: group))
                let grouped = block.headResults(heads, queryInputs: Tensor.stack(heads.map { _ in residPre }, axis: 2),
                                                keyInput: residPre, valueInput: residPre, context: context, mask: mask)
                for (i, h) in heads.enumerated() {
                    #expect(grouped.select(axis: 2, i).maxAbsDifference(cached[n.result]!.select(axis: 2, h)) < 1e-5,
                            "\(name) layer \(l) headResults of heads \(heads)")
                }
            }
            var summed = results.dropFirst().reduce(results[0], +)
            if let bias = block.attention.output.bias { summed = summed + bias }
            if let post = block.postAttentionNorm {
                #expect(model.hookNames.contains(n.ln1PostNormalized))
                summed = post(summed, hooks: nil, scaleName: n.ln1PostScale, normalizedName: n.ln1PostNormalized)
            }
            #expect(summed.maxAbsDifference(attnOut) < 1e-5, "\(name) layer \(l): heads do not add up to attn_out")
        }
    }

    /// Each head reading its own copy of the residual stream (hook_q_input etc.) leaves the logits unchanged,
    /// also where q/k norms span all heads (OLMo-2).
    @Test(arguments: families) func splitAttentionInputsKeepLogits(name: String) throws {
        let model = try Fixtures.model(name)
        let batch = TokenBatch((try Fixtures.reference(name)["batch"] as! [String: Any])["input_ids"] as! [[Int]])
        let hooks = ForwardHooks()
        hooks.cache { $0.hasSuffix("hook_q_input") || $0.hasSuffix("hook_k_input") }
        #expect(model.forward(batch, hooks: hooks).maxAbsDifference(model.forward(batch)) < 1e-4)
    }

    @Test func gemmaScalesEmbeddingsAndCapsLogits() throws {
        let gemma2 = try Fixtures.model("gemma2")
        #expect(gemma2.embeddingScale == Float(Double(32).squareRoot()))
        #expect(gemma2.finalLogitSoftcap == 15)
        #expect(gemma2.blocks.map(\.attention.softcap) == [5, 5])
        let logits = gemma2.forward(TokenBatch([[5, 6, 7]]))
        #expect(logits.scalars.allSatisfy { Swift.abs($0) < 15 })
        #expect(try Fixtures.model("gemma3").blocks.map { $0.attention.rotary!.base } == [100, 1_000_000])
    }

    @Test(arguments: families) func loadsAsLanguageModel(name: String) throws {
        let lm = try LanguageModel.load(from: Fixtures.directory(name))
        #expect(lm.configuration.family.modelType == (try Fixtures.reference(name)["config"] as! [String: Any])["model_type"] as! String)
        #expect(try lm.tokens("the cat").count >= 2)
    }
}
