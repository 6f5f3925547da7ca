import ArgumentParser
import Foundation
import Tensors

extension GEMM.Path: ExpressibleByArgument {}

/// `interp bench`: the speed of the tensor kernels on this machine.
///
/// GEMM figures are GFLOP/s (2·M·K·N per product) for the transformer shapes (M = tokens, K x N = a
/// projection), best and median over the repetitions; `scripts/bench_gemm_numpy.py` prints numpy's
/// figures for the same shapes.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure GEMM GFLOP/s and softmax / LayerNorm times on this machine."
    )

    @Option(help: "Timed repetitions per measurement (after one warm-up run).")
    var repetitions = 10

    @Option(help: "Worker threads (default: all active cores).")
    var threads: Int?

    @Option(help: "GEMM kernel: automatic, portable, avx2 or avx512.")
    var path: GEMM.Path = .automatic

    /// (M, K, N, B stored transposed as a torch Linear weight [N, K])
    static let gemmShapes: [(m: Int, k: Int, n: Int, transposeB: Bool)] = [
        (768, 768, 768, false), (16, 768, 3072, false), (128, 768, 3072, false), (2048, 2048, 2048, false),
        (16, 768, 3072, true), (128, 768, 3072, true), (1024, 768, 3072, false),
    ]

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard path.isSupported else { throw ValidationError("--path \(path.rawValue) is not supported by this CPU") }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        print("GEMM kernel: \(path.resolved.rawValue) (supported: "
              + GEMM.Path.allCases.filter { $0 != .automatic && $0.isSupported }.map(\.rawValue).joined(separator: ", ")
              + "), threads: \(Parallel.threadCount), repetitions: \(repetitions)")
        for shape in Self.gemmShapes { benchGEMM(shape) }
        for (name, seconds) in rowOpTimes() {
            print("\(name.padding(toLength: 30, withPad: " ", startingAt: 0)) best \(milliseconds(seconds.best)) ms   "
                  + "median \(milliseconds(seconds.median)) ms")
        }
    }

    private func benchGEMM(_ shape: (m: Int, k: Int, n: Int, transposeB: Bool)) {
        let (m, k, n) = (shape.m, shape.k, shape.n)
        var values = SplitMix(seed: 1)
        let a = (0..<(m * k)).map { _ in values.next() }, b = (0..<(k * n)).map { _ in values.next() }
        var c = [Float](repeating: 0, count: m * n)
        let times = c.withUnsafeMutableBufferPointer { c in
            measure {
                GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: shape.transposeB ? k : n,
                              transposeB: shape.transposeB, c: c.baseAddress!, ldc: n, path: path)
            }
        }
        let flops = 2 * Double(m) * Double(k) * Double(n)
        let label = "GEMM \(m)x\(k)x\(n)\(shape.transposeB ? " (Bᵀ)" : "")"
        print("\(label.padding(toLength: 30, withPad: " ", startingAt: 0)) best \(gflops(flops / times.best)) GFLOP/s   "
              + "median \(gflops(flops / times.median)) GFLOP/s   (best \(milliseconds(times.best)) ms)")
    }

    /// Softmax and LayerNorm over the activations of a GPT-2-small batch, [8, 128, 768].
    private func rowOpTimes() -> [(String, (best: Double, median: Double))] {
        var values = SplitMix(seed: 2)
        let shape = [8, 128, 768]
        let x = Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in values.next() })
        let weight = Tensor.ones([768]), bias = Tensor.zeros([768])
        return [
            ("softmax [8,128,768]", measure { _ = x.softmax(axis: -1) }),
            ("layerNorm [8,128,768]", measure { _ = x.layerNorm(weight: weight, bias: bias) }),
        ]
    }

    /// Runs `body` once to warm up, then `repetitions` times; the best and median wall-clock seconds.
    private func measure(_ body: () -> Void) -> (best: Double, median: Double) {
        body()
        let clock = ContinuousClock()
        let seconds = (0..<repetitions).map { _ in
            let duration = clock.measure(body)
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        }.sorted()
        return (seconds[0], seconds[seconds.count / 2])
    }

    private func gflops(_ flopsPerSecond: Double) -> String { String(format: "%6.1f", flopsPerSecond / 1e9) }
    private func milliseconds(_ seconds: Double) -> String { String(format: "%8.3f", seconds * 1e3) }
}

/// Reproducible values in [-1, 1) for benchmark inputs (SplitMix64).
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 23) - 1
    }
}
