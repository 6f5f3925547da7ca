import Foundation
import Testing
import TestScratch

/// `--compute` on the model-loading commands: `bf16` and `float32` are accepted, anything else is refused by name;
/// `bf16` runs on a model with bf16/fp16 matrices (here a GGUF file of F16 and BF16 ones, through `run`, `logits` and
/// `bench`) and is refused, naming the reason, on one without (the embedded model is float32).
@Suite struct ComputeOptionTests {
    static let halfPrecisionGGUF = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("LanguageModelsTests/Fixtures/gguf/llama_half.gguf").path

    @Test func computeSettingsParse() throws {
        for setting in ["bf16", "bfloat16", "float32"] {
            let result = try CLI.run(["run", "--model", Self.halfPrecisionGGUF, "--prompt", "Alice", "--compute", setting])
            #expect(result.status == 0, "--compute \(setting): \(result.standardError)")
        }
        #expect(try CLI.run(["run", "--prompt", "Alice", "--compute", "float32"]).status == 0)
        let refused = try CLI.run(["run", "--prompt", "Alice", "--compute", "int8"])
        #expect(refused.status != 0 && refused.standardError.contains("--compute"))
    }

    @Test func bfloat16ComputeReachesEveryModelCommand() throws {
        try withTemporaryDirectory { scratch in
            let input = scratch.appendingPathComponent("ids.json")
            try Data(#"{"input_ids": [[1, 5, 9, 20]]}"#.utf8).write(to: input)
            let logits = try CLI.run(["logits", "--model", Self.halfPrecisionGGUF, "--compute", "bf16", "--input", input.path])
            #expect(logits.status == 0, "\(logits.standardError)")
            let bench = try CLI.run(["bench", "--suite", "forward", "--model", Self.halfPrecisionGGUF, "--compute", "bf16",
                                     "--repetitions", "1", "--budget", "1"])
            #expect(bench.status == 0, "\(bench.standardError)")
        }
    }

    @Test func bfloat16ComputeWithoutHalfPrecisionWeightsIsRefused() throws {
        let refused = try CLI.run(["run", "--prompt", "Alice", "--compute", "bf16"])
        #expect(refused.status != 0 && refused.standardError.contains("bfloat16 compute applies to bfloat16 and float16 matrices"),
                "\(refused.standardError)")
    }
}
