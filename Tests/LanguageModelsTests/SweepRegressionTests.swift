import Foundation
import Testing
import LanguageModels

/// What scripts/sweep_family_configs.py found, pinned by fixtures of scripts/make_family_fixtures.py
/// (`sweep_regressions()`); the checkpoints' logits are checked with the other families in ``FamilyTests``.
@Suite struct SweepRegressionTests {
    /// Every activation name `config.json` may carry computes transformers' `ACT2FN[name]`.
    @Test func activationsMatchTransformers() throws {
        let url = Fixtures.models.deletingLastPathComponent().appendingPathComponent("activations.json")
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let inputs = flatFloats(reference["inputs"]!)
        let x = Tensor(shape: [inputs.count], scalars: inputs)
        for (name, expected) in reference["outputs"] as! [String: Any] {
            let activation = try #require(Activation(huggingFaceName: name), "\(name) is not read")
            let worst = zip(activation(x).scalars, flatFloats(expected)).map { Swift.abs($0 - $1) }.max()!
            #expect(worst <= 2e-6, "\(name): max |Δ| = \(worst)")
        }
    }

    /// transformers' Gemma-3 attention never passes `attn_logit_softcapping` to the attention function.
    @Test func gemma3IgnoresAttentionSoftcapping() throws {
        let configuration = try ModelConfiguration(contentsOf: Fixtures.directory("gemma3_attn_softcap"))
        #expect(configuration.attentionSoftcap == nil && configuration.finalLogitSoftcap == 20)
    }

    /// transformers' Gemma3ForConditionalGeneration soft-caps neither the logits nor the attention scores, whatever
    /// its text_config says (Gemma3ForCausalLM does cap the logits).
    @Test func gemma3MultimodalWrapperIgnoresSoftcapping() throws {
        let configuration = try ModelConfiguration(contentsOf: Fixtures.directory("gemma3_multimodal_softcap"))
        #expect(configuration.multimodalWrapper == "gemma3")
        #expect(configuration.attentionSoftcap == nil && configuration.finalLogitSoftcap == nil)
    }

    /// transformers reads YaRN's `truncate` from the outer `rope_parameters` object, so a `truncate: false` in one
    /// layer type's entry (or in a Gemma-3 / OLMo-3 `rope_scaling`, which becomes that entry) has no effect; the
    /// frequencies themselves are checked against transformers' in ``FamilyTests``.
    @Test(arguments: ["olmo3_yarn_untruncated", "gemma3_yarn_untruncated"])
    func yarnTruncateIsIgnoredPerLayerType(name: String) throws {
        let full = try ModelConfiguration(contentsOf: Fixtures.directory(name)).rotary(layer: 1)!
        guard case .yarn(_, _, _, _, let truncate, _) = full.scaling else {
            Issue.record("\(name): scaling \(full.scaling)")
            return
        }
        #expect(truncate)
    }

    /// YaRN and LongRoPE: the scaling read from config.json, and LongRoPE's frequencies chosen per pass.
    @Test func rotaryScalingsAreRead() throws {
        let yarn = try ModelConfiguration(contentsOf: Fixtures.directory("qwen3_yarn")).rotary(layer: 0)!
        guard case .yarn(let factor, let original, 32, 1, true, let attentionFactor) = yarn.scaling else {
            Issue.record("qwen3_yarn: scaling \(yarn.scaling)")
            return
        }
        #expect(factor == 4 && original == 8 && Swift.abs(attentionFactor - (0.1 * Foundation.log(4.0) + 1)) < 1e-12)
        let long = try ModelConfiguration(contentsOf: Fixtures.directory("phi3_longrope")).rotary(layer: 0)!
        #expect(long.attentionFactor == Float((1 + Foundation.log(32.0) / Foundation.log(2.0)).squareRoot()))
        let x = Tensor(shape: [1, 1, 1, 8], scalars: [1, 0, 0, 0, 0, 0, 0, 0])
        // Position 1 alone stays within the original context of 2 (short factor 1: angle 1); with position 2 in
        // the pass, the long factor 2 halves it.
        let alone = long.apply(to: x, positions: [[1]]).scalars[0]
        let withLonger = long.apply(to: Tensor.concatenate([x, x], axis: 1), positions: [[1, 2]]).scalars[0]
        #expect(Swift.abs(alone - long.attentionFactor * Foundation.cos(Float(1))) < 1e-6)
        #expect(Swift.abs(withLonger - long.attentionFactor * Foundation.cos(Float(0.5))) < 1e-6)
    }
}

/// Punctuation is what the tokenizers library's older Unicode table says (found by the sweep's random texts):
/// U+0C84, U+2E43 and U+11A9A are category P today but not to the library, U+166D is no longer P but still is to it.
@Suite struct PunctuationTableTests {
    @Test func punctuationFollowsTheTokenizersLibrary() throws {
        let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tokenizers")
        let text = "a\u{0C84}b \u{2E43}c\u{166D}d \u{11A9A}e"
        // Ids from the tokenizers library (`Tokenizer.from_file(...).encode(text, add_special_tokens=False).ids`).
        let expected = [
            "byte-level-no-regex": [220, 64, 220, 156, 110, 226, 420, 220, 158, 117, 225, 220, 66, 220, 67, 220, 172, 239, 103,
                                    248, 220, 68],
            "wordpiece-bert": [1, 1, 1, 44, 1],
        ]
        for (name, ids) in expected {
            let tokenizer = try loadTokenizer(from: fixtures.appendingPathComponent(name))
            #expect(try tokenizer.encode(text, addSpecialTokens: false) == ids, "\(name)")
        }
    }
}

/// The marks the tokenizers library drops (found by the sweep's random texts: U+08D7 and U+08DE, marks added in
/// Unicode 9.0, were dropped by `BertNormalizer`'s strip_accents here and kept by the library, whose table for it is
/// Unicode 8.0's). Every scalar that is a mark today or that the library drops, through each normalizer, against
/// Fixtures/strip_accents.json (scripts/make_strip_accents_reference.py, from the tokenizers library).
@Suite struct StripAccentsTableTests {
    @Test(arguments: [("bert_strip_accents", #"{"type": "BertNormalizer", "clean_text": false, "handle_chinese_chars": false, "strip_accents": true, "lowercase": false}"#),
                      ("strip_accents", #"{"type": "StripAccents"}"#)])
    func marksDroppedAsTheTokenizersLibraryDrops(list: String, normalizer: String) throws {
        let url = Fixtures.models.deletingLastPathComponent().appendingPathComponent("strip_accents.json")
        let ranges = (try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: [[Int]]])[list]!
        let dropped = Set(ranges.flatMap { $0[0]...$0[1] })
        let tokenizer = try HuggingFaceTokenizer(tokenizerJSON: Data(#"""
            {"normalizer": \#(normalizer), "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "ab": 1}, "unk_token": "[UNK]"}}
            """#.utf8))
        var mismatches: [String] = []
        for value in 0..<0x110000 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let isMark = [.nonspacingMark, .spacingMark, .enclosingMark].contains(scalar.properties.generalCategory)
            guard isMark || dropped.contains(value) else { continue }
            let ours = try tokenizer.encode("a\(Character(scalar))b", addSpecialTokens: false) == [1]
            if ours != dropped.contains(value) { mismatches.append(String(value, radix: 16)) }
        }
        #expect(mismatches.isEmpty, "\(list): U+\(mismatches.prefix(20))")
    }
}
