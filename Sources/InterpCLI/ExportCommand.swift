import ArgumentParser
import Foundation
import Reports

/// `interp export`: write a model (a Hugging Face directory or a GGUF file) as a Hugging Face checkpoint.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a model as a Hugging Face checkpoint (config.json, model.safetensors, tokenizer).",
        discussion: """
        Every family loads back here and in transformers: GPT-2, the Llama family (SmolLM3 too), GPT-NeoX, Gemma 1/2/3,
        Phi, Phi-3, OLMo, OLMo-2 and OLMo-3 (fused projections fused again); the language model of a multimodal Gemma-3
        or Mistral 3 checkpoint is written as a text-only gemma3_text, mistral or ministral3 checkpoint. A GGUF file is written dequantized, with the
        tokenizer rebuilt from its metadata. Example: interp export --model model.Q8_0.gguf --out model-hf --dtype bfloat16
        """)

    @OptionGroup var model: ModelOptions
    @Option(help: ArgumentHelp("Output directory.", valueName: "dir")) var out: String
    @Option(help: "float32, float16 or bfloat16.") var dtype = "float32"

    func validate() throws {
        if !["float32", "float16", "bfloat16"].contains(dtype) { throw ValidationError("--dtype must be float32, float16 or bfloat16") }
    }

    func run() throws {
        let lm = try model.load()
        let stored: SafetensorsDType = ["float32": .float32, "float16": .float16, "bfloat16": .bfloat16][dtype]!
        try lm.model.save(to: URL(fileURLWithPath: out), configuration: lm.configuration, tokenizer: try tokenizerFiles(lm.directory),
                          dtype: stored)
        print("wrote \(out) (\(lm.configuration.family.modelType), \(dtype))")
    }

    /// The source's tokenizer files: copied from a directory, rebuilt from a GGUF file's metadata.
    private func tokenizerFiles(_ source: URL) throws -> TokenizerFiles? {
        if source.pathExtension.lowercased() == "gguf" { return try GGUFTokenizer.files(from: GGUFFile(contentsOf: source)) }
        let tokenizer = source.appendingPathComponent("tokenizer.json"), config = source.appendingPathComponent("tokenizer_config.json")
        guard let json = try? String(contentsOf: tokenizer, encoding: .utf8) else { return nil }
        return TokenizerFiles(tokenizerJSON: json, tokenizerConfigJSON: try? String(contentsOf: config, encoding: .utf8))
    }
}
