import Foundation
import TestModels
import Testing
import Circuits

/// Path patching of many sets in batched passes gives, set by set, the values of the definition run one set at
/// a time (a frozen run recording the receivers' inputs, then a rerun with them), within 1e-5 of the metric's
/// scale, on prompts of mixed lengths: single edges, whole layers, several senders, receivers at several points
/// (run by the definition) and senders downstream of the receivers.
@Suite struct BatchedPathPatchingTests {
    static let sets: [(senders: [String], receivers: [String])] = [
        (["a0.h1"], ["a2.h3<q>"]), (["input"], ["a1.kv1<k>"]), (["m0"], ["a2.kv0<v>"]), (["a1.h2"], ["m1"]),
        (["a2.h0"], ["logits"]), (["a0.h1", "a1.h2", "m1"], ["a2.h3"]), (["layers.0.self_attn"], ["blocks.2.attn"]),
        (["a0.h0"], ["a1.h1", "m1"]), (["a2.h1"], ["a1.h0<q>"]), (["m2", "a1.h3"], ["logits"]),
    ]

    static func expectDefinitionValues(_ model: TransformerModel, _ pairs: PromptPairs, label: String) throws {
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff)
        let batched = try patching.pathPatching(Self.sets)
        let oneByOne = try Self.sets.map { try patching.pathPatching(senders: $0.senders, receivers: $0.receivers) }
        let scale = (oneByOne.map(\.value) + [patching.cleanValue, patching.corruptedValue]).map { Swift.abs($0) }.max()!
        for (set, (fast, expected)) in zip(Self.sets, zip(batched, oneByOne)) {
            #expect(Swift.abs(fast.value - expected.value) <= 1e-5 * scale, "\(label) \(set): \(fast.value) vs \(expected.value)")
            #expect(fast.senders == expected.senders && fast.receivers == expected.receivers)
        }
        // The sets matter: some path moves the metric by a tenth of the clean − corrupted gap.
        let gap = Swift.abs(patching.cleanValue - patching.corruptedValue)
        #expect(oneByOne.map { Swift.abs($0.value - patching.cleanValue) }.max()! > 0.1 * gap, "\(label): the paths barely matter")
    }

    /// Prompts of 8, 6 and 7 tokens, corrupted at different positions.
    static func mixedLengthPairs() throws -> PromptPairs {
        try PromptPairs(clean: [[3, 7, 1, 9, 4, 4, 12, 5], [8, 2, 2, 15, 6, 11], [5, 9, 14, 3, 3, 7, 10]],
                        corrupted: [[3, 7, 1, 9, 4, 4, 13, 5], [8, 2, 2, 15, 6, 1], [5, 2, 14, 3, 2, 7, 10]],
                        answers: [5, 9, 1], wrongs: [1, 2, 4])
    }

    @Test func groupedQueryLlamaModel() throws {
        try Self.expectDefinitionValues(TestModels.make(llama: true, layers: 3, kvHeads: 2), try Self.mixedLengthPairs(), label: "GQA")
    }

    @Test func gpt2LikeModel() throws {
        // Without grouped queries the key and value receivers are per head.
        let model = TestModels.make(llama: false, layers: 3)
        let patching = try EdgePatching(model: model, pairs: try Self.mixedLengthPairs(), metric: .logitDiff)
        let sets: [(senders: [String], receivers: [String])] = Self.sets.map { set in
            (set.senders, set.receivers.map { $0.replacingOccurrences(of: ".kv", with: ".h") })
        }
        let batched = try patching.pathPatching(sets)
        for (set, fast) in zip(sets, batched) {
            let expected = try patching.pathPatching(senders: set.senders, receivers: set.receivers).value
            #expect(Swift.abs(fast.value - expected) <= 1e-5 * Swift.max(Swift.abs(expected), Swift.abs(patching.cleanValue)), "\(set)")
        }
    }

    @Test func postNormModel() throws {
        let (model, pairs) = try TestModels.gemma2SlidingWindowCase()
        let patching = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff)
        let layers = model.layerCount
        let sets: [(senders: [String], receivers: [String])] = [
            (["a0.h1"], ["a\(layers - 1).h0<q>"]), (["input", "m0"], ["logits"]), (["a0.h0"], ["m\(layers - 1)"]),
        ]
        for (set, fast) in zip(sets, try patching.pathPatching(sets)) {
            let expected = try patching.pathPatching(senders: set.senders, receivers: set.receivers).value
            #expect(Swift.abs(fast.value - expected) <= 1e-5 * Swift.max(Swift.abs(expected), Swift.abs(patching.cleanValue)), "\(set)")
        }
    }
}
