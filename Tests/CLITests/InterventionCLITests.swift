import Foundation
import Testing
import TestScratch

/// `--intervene` and `--steer` on the embedded model against transformers with the same changes made by torch hooks
/// (scripts/make_steering_references.py): a head zeroed, the residual scaled at two positions, a vector from a file
/// added, and activation addition of two texts; bad specs are refused naming the spec and what is wrong.
@Suite struct InterventionCLITests {
    static let references: [String: Any] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("InterpTests/Fixtures/steering.json")
        let json = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return json["cli"] as! [String: Any]
    }()

    static func lastLogits(_ arguments: [String]) throws -> [Float] {
        let result = try CLI.run(["run", "--prompt", references["prompt"] as! String, "--json", "--logits"] + arguments)
        #expect(result.status == 0, "\(arguments): \(result.standardError)")
        let json = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any]
        #expect(json["tokens"] as? [Int] == references["tokens"] as? [Int], "the CLI tokenizes as tokenizers does")
        return (json["logits"] as! [NSNumber]).map(\.floatValue)
    }

    @Test func interventionsMatchTransformersHooks() throws {
        try withTemporaryDirectory { scratch in
            let vector = scratch.appendingPathComponent("vector.json")
            try JSONSerialization.data(withJSONObject: Self.references["vector"]!).write(to: vector)
            let plain = try Self.lastLogits([])
            for reference in Self.references["cases"] as! [[String: Any]] {
                let arguments = (reference["arguments"] as! [String]).map { $0.replacingOccurrences(of: "VECTOR", with: vector.path) }
                let expected = (reference["logits"] as! [NSNumber]).map(\.floatValue)
                let found = try Self.lastLogits(arguments)
                let difference = zip(found, expected).map { Swift.abs($0 - $1) }.max() ?? .infinity
                let change = zip(plain, expected).map { Swift.abs($0 - $1) }.max() ?? 0
                #expect(found.count == expected.count && difference < 1e-4, "\(arguments): max |Δ| \(difference)")
                #expect(change > 1e-3, "\(arguments) must change the logits for this test to mean anything")
            }
        }
    }

    @Test func steeredGenerationRuns() throws {
        let result = try CLI.run(["generate", "--prompt", "Alice and Bob", "--max-tokens", "3", "--steer", "blocks.1.hook_resid_pre",
                                  "--steer-plus", "Alice", "--steer-minus", "Bob", "--steer-coefficient", "4"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.hasPrefix("Alice and Bob"))
    }

    @Test(arguments: [
        ("blocks.1.attn.hook_z", "expected HOOK:OPERATION"),
        ("blocks.1.attn.hook_z:explode", "unknown operation 'explode'"),
        ("blocks.1.attn.hook_z[head=2]:zero", "'[head=2]' is not a selection"),
        ("blocks.1.attn.hook_z[heads=-1]:zero", "is not a list of non-negative heads indices"),
        ("blocks.1.attn.hook_z:scale=x", "'scale' takes 1 finite number(s)"),
        ("blocks.1.attn.hook_z:clamp=2,1", "clamp's low bound 2.0 is above its high bound 1.0"),
        ("blocks.1.hook_resid_pre:add=/nonexistent.json", "cannot read /nonexistent.json"),
        ("blocks.9.hook_resid_pre:zero", "blocks.9.hook_resid_pre"),
        ("blocks.1.attn.hook_z[heads=9]:zero", "head 9 at 'blocks.1.attn.hook_z' is out of range"),
        ("blocks.1.hook_resid_pre[positions=0,2]:zero", "position 2 is beyond the run's 2 positions"),
    ])
    func badSpecsAreRefusedByName(spec: String, message: String) throws {
        let result = try CLI.run(["run", "--prompt", "Alice", "--intervene", spec])
        #expect(result.status != 0 && result.standardError.contains(message), "\(spec): \(result.standardError)")
    }

    @Test func vectorsOfTheWrongWidthAreRefused() throws {
        try withTemporaryDirectory { scratch in
            let vector = scratch.appendingPathComponent("short.json")
            try Data("[1, 2, 3]".utf8).write(to: vector)
            let result = try CLI.run(["run", "--prompt", "Alice", "--intervene", "blocks.0.hook_resid_post:add=\(vector.path)*2"])
            #expect(result.status != 0 && result.standardError.contains("holds 3 numbers, but blocks.0.hook_resid_post is 128 wide"),
                    "\(result.standardError)")
        }
    }

    @Test func steeringNeedsBothPrompts() throws {
        let result = try CLI.run(["run", "--prompt", "Alice", "--steer", "blocks.1.hook_resid_pre", "--steer-plus", "Alice"])
        #expect(result.status != 0 && result.standardError.contains("--steer needs both --steer-plus and --steer-minus"))
    }
}
