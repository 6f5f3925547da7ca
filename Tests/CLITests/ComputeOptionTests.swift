import Testing

/// `--compute` on the model-loading commands: `bf16` and `float32` are accepted, anything else is refused by name.
@Suite struct ComputeOptionTests {
    @Test func computeSettingsParse() throws {
        for setting in ["bf16", "bfloat16", "float32"] {
            #expect(try CLI.run(["run", "--prompt", "Alice", "--compute", setting]).status == 0, "--compute \(setting)")
        }
        let refused = try CLI.run(["run", "--prompt", "Alice", "--compute", "int8"])
        #expect(refused.status != 0 && refused.standardError.contains("--compute"))
    }
}
