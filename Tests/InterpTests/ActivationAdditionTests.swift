import Foundation
import Testing
import Interp

/// Activation addition against transformers with torch hooks (scripts/make_steering_references.py): the contrast
/// pair padded as Turner et al.'s code pads it, the difference added at the front of the run, the logits at every
/// position and greedy generation with a key-value cache, where generated positions below the pair's length get
/// their rows too.
@Suite struct ActivationAdditionTests {
    static let references: [String: Any] = {
        let url = Bundle.module.url(forResource: "steering", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    static var cases: [[String: Any]] { references["activation_addition"] as! [[String: Any]] }

    static func steering(_ reference: [String: Any]) throws -> (TransformerModel, Intervention) {
        let checkpoints = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LanguageModelsTests/Fixtures/models")
        let model = try TransformerModel.load(Checkpoint(directory: checkpoints.appendingPathComponent(reference["model"] as! String)))
        let steer = try Intervention.activationAddition(
            model: model, at: "blocks.\(reference["layer"] as! Int).hook_resid_pre", plus: reference["plus"] as! [Int],
            minus: reference["minus"] as! [Int], padding: reference["padding"] as! Int,
            coefficient: (reference["coefficient"] as! NSNumber).floatValue)
        return (model, steer)
    }

    @Test(arguments: 0..<2) func logitsMatchTransformers(_ index: Int) throws {
        let reference = Self.cases[index]
        let (model, steer) = try Self.steering(reference)
        let (logits, _) = try model.run(TokenBatch([reference["prompt"] as! [Int]]), interventions: [steer])
        let expected = Tensor(shape: [1] + (reference["logits_shape"] as! [Int]), scalars: flatFloats(reference["logits"]!))
        let unsteered = model.forward(TokenBatch([reference["prompt"] as! [Int]]))
        #expect(unsteered.maxAbsDifference(expected) > 0.1, "the steering must change the logits for this test to mean anything")
        #expect(logits.maxAbsDifference(expected) < 1e-4, "\(reference["model"]!): \(logits.maxAbsDifference(expected))")
    }

    @Test(arguments: 0..<2) func generationMatchesTransformers(_ index: Int) throws {
        let reference = Self.cases[index]
        let (model, steer) = try Self.steering(reference)
        let hooks = ForwardHooks()
        try model.register([steer], on: hooks)
        let generated = model.generate(TokenBatch([reference["prompt"] as! [Int]]), maxTokens: 4, hooks: hooks)[0]
        #expect(generated == reference["generated"] as! [Int])
    }

    @Test func hooksWithoutAPositionAxisAfterTheBatchAreRefused() throws {
        let (model, _) = try Self.steering(Self.cases[0])
        #expect(throws: ActivationAdditionError.noLeadingPositionAxis(hook: "blocks.0.attn.hook_pattern")) {
            try Intervention.activationAddition(model: model, at: "blocks.0.attn.hook_pattern", plus: [1], minus: [2],
                                                padding: 0, coefficient: 1)
        }
        #expect(throws: ActivationAdditionError.emptyPrompt) {
            try Intervention.activationAddition(model: model, at: "blocks.0.hook_resid_pre", plus: [], minus: [2],
                                                padding: 0, coefficient: 1)
        }
    }
}
