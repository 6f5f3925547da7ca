import Foundation
import Testing

/// Every command that loads a model takes the same loading options (`--compute`, `--memory-limit`), including
/// `bench` and `methods-benchmark`, which have a `--model` of their own; `train` loads none and says so.
@Suite struct ModelOptionsEverywhereTests {
    static let loadingCommands = ["info", "tokenize", "run", "logits", "generate", "trace", "lens", "dla", "attention", "patch",
                                  "attribute", "path-patch", "acdc", "eap", "eap-nodes", "evaluate", "prune", "export", "demo",
                                  "bench", "methods-benchmark"]

    @Test(arguments: loadingCommands) func takesTheModelLoadingOptions(command: String) throws {
        let help = try CLI.run([command, "--help"])
        #expect(help.status == 0, "\(help.standardError)")
        #expect(help.standardOutput.contains("--compute") && help.standardOutput.contains("--memory-limit"), "\(command): \(help.standardOutput)")
    }

    @Test func trainSaysWhyItHasNoComputeOption() throws {
        let help = try CLI.run(["train", "--help"]).standardOutput.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(!help.contains("--compute <"))
        #expect(help.contains("loads no 16-bit model: it has no --model, --compute or --memory-limit"), "\(help)")
    }

    /// The planted model is built in float32: `--compute bf16` needs a `--model`, and on a float32 one it is refused
    /// as on every other command.
    @Test func methodsBenchmarkRefusesBFloat16ComputeWithoutAHalfPrecisionModel() throws {
        let planted = try CLI.run(["methods-benchmark", "--compute", "bf16"])
        #expect(planted.status != 0 && planted.standardError.contains("--compute bfloat16 needs --model DIR"), "\(planted.standardError)")
        let float32 = try CLI.run(["methods-benchmark", "--model", EmbeddedModelPath.directory, "--compute", "bf16"])
        #expect(float32.status != 0 && float32.standardError.contains("bfloat16 compute applies to bfloat16 and float16 matrices"),
                "\(float32.standardError)")
        let limited = try CLI.run(["methods-benchmark", "--model", EmbeddedModelPath.directory, "--memory-limit", "0.000001"])
        #expect(limited.status != 0 && limited.standardError.contains("over the budget --memory-limit"), "\(limited.standardError)")
    }
}
