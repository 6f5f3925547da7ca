import ArgumentParser
import Circuits
import Foundation

extension GEMM.Path: ExpressibleByArgument {}

/// `interp bench`: the speed of the kernels and of the interpretability workloads on this machine.
///
/// ```
/// interp bench                                           # GEMM and row kernels
/// interp bench --suite forward,cache,patching --model /tmp/interp-bench/gpt2-small
/// interp bench --suite memory --model /tmp/interp-bench/llama-1b-shape --json
/// ```
///
/// `scripts/bench_peers.py` runs the same workloads in PyTorch and TransformerLens and prints both side by side.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time GEMM, forward passes, caching, patching, EAP, ACDC and peak memory on this machine.",
        discussion: """
            Suites: gemm (kernel shapes; with --model, the model's own products in its stored format); forward, cache, patching, attribution, eap, acdc, masks (need --model, e.g. a \
            GPT-2-small checkpoint from scripts/make_bench_model.py); memory (peak RSS of loading --model and one \
            forward pass; run it alone, in its own process); eap-variants (every EAP-IG attribution method, exact included: \
            long on a large model); exact-layers (exact's cost per edge against a forward pass, in CPU time, from one pass of edges into each layer; use --threads 1). 'all' runs every \
            suite except memory, eap-variants and exact-layers.
            """
    )

    enum Suite: String, CaseIterable, ExpressibleByArgument {
        case gemm, forward, cache, patching, attribution, eap, eapVariants = "eap-variants", exactLayers = "exact-layers", acdc, masks, memory, all

        static let modelSuites: [Suite] = [.forward, .cache, .patching, .attribution, .eap, .acdc, .masks]
    }

    @Option(help: "Comma-separated suites: \(Suite.allCases.map(\.rawValue).joined(separator: ", ")).",
            transform: { try $0.split(separator: ",").map { name in
                guard let suite = Suite(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("unknown suite '\(name)'; choose from \(Suite.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return suite
            } })
    var suite: [Suite] = [.gemm]

    @Option(help: "A Hugging Face model directory (config.json + safetensors) or a .gguf file for the model suites.")
    var model: String?

    @Option(help: "Timed repetitions per workload (after one warm-up run).")
    var repetitions = 5

    @Option(help: "Stop repeating a workload once its timed runs add up to this many seconds.")
    var budget = 20.0

    @Option(help: "Worker threads (default: all active cores).")
    var threads: Int?

    @Flag(help: "Time each run as the process's CPU time (user + system) rather than wall-clock time: with --threads 1 a loaded machine distorts it less.")
    var cpuTime = false

    @Option(help: "GEMM kernel for the gemm suite: automatic, portable, avx2 or avx512.")
    var path: GEMM.Path = .automatic

    @OptionGroup var loading: ModelLoadingOptions

    @Option(help: "ACDC threshold τ of the complete run on the attention-only model (KL metric).")
    var acdcThreshold: Float = 0.01

    @Option(help: "Edges of the loaded model whose ACDC test is timed (0: only the complete attention-only run).")
    var acdcEdgeSamples = 24

    @Option(help: "Prompts of a complete edge-level ACDC run on the loaded model (0: no such run).")
    var acdcModelExamples = 0

    @Flag(inversion: .prefixedNo, help: "Run the complete ACDC run on the random attention-only model (acdc suite).")
    var acdcAttentionOnlyRun = true

    @Flag(help: "Print the figures as JSON instead of a table.")
    var json = false

    var suites: [Suite] {
        suite.contains(.all) ? [.gemm] + Suite.modelSuites : suite
    }

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
        guard acdcModelExamples >= 0 else { throw ValidationError("--acdc-model-examples must not be negative") }
        guard acdcEdgeSamples >= 0 else { throw ValidationError("--acdc-edge-samples must not be negative") }
        guard budget > 0 else { throw ValidationError("--budget must be positive, got \(budget)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard path.isSupported else { throw ValidationError("--path \(path.rawValue) is not supported by this CPU") }
        if model == nil, let needing = suites.first(where: { $0 == .memory || $0 == .eapVariants || $0 == .exactLayers || Suite.modelSuites.contains($0) }) {
            throw ValidationError("--suite \(needing.rawValue) needs --model DIR (see scripts/make_bench_model.py)")
        }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let report = BenchReport(timer: BenchTimer(repetitions: repetitions, budget: budget, cpuTime: cpuTime))
        var models: ModelBench?
        func loaded() throws -> ModelBench {
            if let models { return models }
            BenchLog.note("loading \(model!) ...")
            let loaded = ModelBench(model: try loading.load(from: URL(fileURLWithPath: model!)).model,
                                    report: report)
            models = loaded
            return loaded
        }
        for suite in suites {
            switch suite {
            case .gemm:
                if model != nil { GEMMBench(report: report, path: path).run(model: try loaded().model) }
                else { GEMMBench(report: report, path: path).run() }
            case .forward: try loaded().forward()
            case .cache: try loaded().cache()
            case .patching: try loaded().patching()
            case .attribution: try loaded().attribution()
            case .eap: try CircuitBench(models: loaded()).eap()
            case .masks: try CircuitBench(models: loaded()).masks()
            case .eapVariants: try CircuitBench(models: loaded()).eapVariants()
            case .exactLayers: try CircuitBench(models: loaded()).exactByLayer()
            case .acdc:
                let circuits = CircuitBench(models: try loaded())
                if acdcEdgeSamples > 0 { try circuits.acdcEdgeTests(samples: acdcEdgeSamples) }
                if acdcModelExamples > 0 { try circuits.acdcModelRun(examples: acdcModelExamples, threshold: acdcThreshold) }
                if acdcAttentionOnlyRun { try circuits.acdcFullRun(threshold: acdcThreshold) }
            case .memory: try MemoryBench(report: report, directory: URL(fileURLWithPath: model!), loading: loading).run()
            case .all: break
            }
        }
        let header = "interp bench: \(suites.map(\.rawValue).joined(separator: ",")), model \(model ?? "-"), "
            + "threads \(Parallel.threadCount), GEMM \(path.resolved.rawValue) (MC \(path.blocking.rows), KC \(path.blocking.depth), "
            + "NC \(path.blocking.columns); \(CPUCaches.detected.summary))\(computeNote), up to \(repetitions) runs or \(budget) s each"
        if json { try report.printJSON(header: header) } else { report.printTable(header: header) }
    }

    /// The bfloat16 kernels and their blocks when `--compute bf16`.
    private var computeNote: String {
        guard loading.compute == .bfloat16 else { return "" }
        guard GEMM.bfloat16DotProductsAvailable else { return ", bf16 compute widened (no AVX512-BF16)" }
        let blocking = GEMM.bfloat16Blocking
        return ", bf16 compute vdpbf16ps (MC \(blocking.rows), KC \(blocking.depth), NC \(blocking.columns))"
    }
}
