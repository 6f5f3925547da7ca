import ArgumentParser
import Circuits
import Foundation
import Reports

/// `--model DIR|FILE.gguf`: the model directory (config.json, *.safetensors, tokenizer.json) or a llama.cpp GGUF file.
struct ModelOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("Model directory (config.json, *.safetensors, tokenizer.json) or a llama.cpp .gguf file; default: the embedded model.",
                                                    valueName: "dir|file.gguf"))
    var model: String?

    @OptionGroup var loading: ModelLoadingOptions

    /// Loads the model, or the embedded default model, after checking its weights against `--memory-limit`.
    func load() throws -> LanguageModel {
        ProgressBar.showLongForwardPasses()
        return try loading.load(from: model.map { URL(fileURLWithPath: $0) } ?? EmbeddedModel.directory)
    }
}

/// `--memory-limit` and `--compute`: how a model is loaded, the same on every command that loads one (with
/// ``ModelOptions``, or with a `--model` of its own such as `bench` and `methods-benchmark`).
struct ModelLoadingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Refuse a model whose weights would take more than this many GB of memory (bf16/fp16 "
                               + "and quantized weights count as stored: they stay so); what is left is the budget of "
                               + "cached activations and of edge patching's sender outputs.", valueName: "GB"))
    var memoryLimit: Double?

    @Option(help: ArgumentHelp("Arithmetic of products with bf16 and fp16 weights (safetensors, GGUF BF16/F16): float32 "
                               + "(exact widening) or bf16 (activations rounded to bfloat16, AVX512-BF16 dot products "
                               + "where the CPU has them, as PyTorch computes a bfloat16 model; fp16 weights are rounded "
                               + "to bfloat16 too, lossy, as loading them with dtype=torch.bfloat16). F32 and quantized "
                               + "weights (MLX, GGUF Q8_0, Q4_K, ...) always compute in float32, quantized ones with their "
                               + "fused dequantize-and-dot kernels; bf16 on a model with no bf16/fp16 matrix is an error.",
                               valueName: "float32|bf16"))
    var compute: ComputePrecision = .float32

    func validate() throws {
        if let memoryLimit, !(memoryLimit > 0) { throw ValidationError("--memory-limit must be positive, got \(memoryLimit)") }
    }

    /// Loads the model at `directory` (a directory or a .gguf file) with `--compute`, after checking its weights
    /// against `--memory-limit` (whose remainder becomes the activation cache's budget).
    func load(from directory: URL) throws -> LanguageModel {
        if let memoryLimit, let weights = try? WeightStore(directory: directory) {
            let needed = Double(weights.residentByteCount) / 1e9
            guard needed <= memoryLimit else {
                throw CLIError("\(directory.path): the weights need \(String(format: "%.2f", needed)) GB in memory "
                               + "(\(weights.dtype?.rawValue ?? "?") on disk), over the budget --memory-limit \(memoryLimit) GB")
            }
            ActivationCache.defaultByteLimit = Int((memoryLimit - needed) * 1e9)
        }
        return try LanguageModel.load(from: directory, computePrecision: compute)
    }
}

/// `--json`: machine-readable output on standard output.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print machine-readable JSON instead of text.")
    var json = false
    @Flag(help: "Print progress on standard error even when it is not a terminal (for logs).")
    var progress = false
}

/// The clean/corrupted prompts of a causal analysis: one pair on the command line, or a task file.
struct PairOptions: ParsableArguments {
    @Option(help: "The prompt that shows the behaviour.") var clean: String?
    @Option(help: "The contrasting prompt (same token length).") var corrupted: String?
    @Option(help: "The expected next token, e.g. \" Mary\" (or #id).") var answer: String?
    @Option(help: "The contrasting wrong token, e.g. \" John\" (or #id).") var wrong: String?
    @Option(help: ArgumentHelp("A task file (JSON or JSONL of {clean, corrupted, answer, wrong}).", valueName: "file"))
    var task: String?
    @Option(help: "Use at most this many examples of the task file.") var limit: Int?

    func validate() throws {
        let inline = [clean, corrupted, answer, wrong]
        if task == nil && inline.contains(where: { $0 == nil }) {
            throw ValidationError("give --clean, --corrupted, --answer and --wrong, or --task FILE")
        }
        if task != nil && inline.contains(where: { $0 != nil }) {
            throw ValidationError("give either --task or --clean/--corrupted/--answer/--wrong, not both")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    /// The prompt pairs, tokenized. With `counterfactual` (patching from the corrupted run), a task whose every
    /// corrupted prompt is its clean prompt is refused, and one where some are gets a warning on standard error
    /// (``PromptPairs/checkCounterfactuals(source:)``).
    func pairs(for lm: LanguageModel, counterfactual: Bool = true) throws -> PromptPairs {
        let pairs = try tokenized(for: lm)
        if counterfactual { try Self.checkCounterfactuals(pairs, source: task ?? "--clean/--corrupted") }
        return pairs
    }

    /// Refuses pairs whose every corrupted prompt is the clean one, and warns on standard error when some are.
    static func checkCounterfactuals(_ pairs: PromptPairs, source: String) throws {
        if let warning = try pairs.checkCounterfactuals(source: source) {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
    }

    private func tokenized(for lm: LanguageModel) throws -> PromptPairs {
        var file: TaskFile
        if let task {
            file = try TaskFile(contentsOf: URL(fileURLWithPath: task))
            file.examples = Array(file.examples.prefix(limit ?? .max))
        } else {
            file = TaskFile(task: "command line", examples: [
                TaskExample(clean: .text(clean!), corrupted: .text(corrupted!), answer: Self.text(answer!), wrong: Self.text(wrong!)),
            ])
        }
        return try file.promptPairs(for: lm, source: task ?? "command line")
    }

    /// An answer given as text, or as a token id written `#123`.
    static func text(_ argument: String) -> TaskText {
        if argument.hasPrefix("#"), let id = Int(argument.dropFirst()) { return .tokens([id]) }
        return .text(argument)
    }
}

/// `--html FILE`: also write a self-contained HTML view.
struct HTMLOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Write a self-contained HTML view to this file.", valueName: "file"))
    var html: String?
}

/// `--circuit-view`: which drawing of a circuit the HTML view uses.
struct CircuitViewOptions: ParsableArguments {
    @Option(name: .customLong("circuit-view"),
            help: "auto (interactive above \(CircuitView.interactiveEdgeCount) edges), static (printable SVG) or interactive.")
    var style: CircuitView.Style = .automatic
}

extension CircuitView.Style: ExpressibleByArgument {}

/// Where the embedded default model lives.
enum EmbeddedModel {
    /// The directory of the model shipped with the tool (trained by `interp train`, see the README).
    static var directory: URL {
        Bundle.module.url(forResource: "DefaultModel", withExtension: nil)!
    }

    /// The task file shipped with the default model.
    static var task: URL { directory.appendingPathComponent("task.json") }
}
