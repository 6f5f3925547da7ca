import LanguageModels
import Tensors

/// The `gemm` suite: GEMM GFLOP/s for the transformer shapes (M = tokens, K x N = a projection; 2·M·K·N
/// flops per product) and softmax / LayerNorm times on GPT-2-small activations. `scripts/bench_gemm_numpy.py`
/// prints numpy's figures for the same shapes.
struct GEMMBench {
    let report: BenchReport
    let path: GEMM.Path

    /// (M, K, N, B stored transposed as a torch Linear weight [N, K])
    static let shapes: [(m: Int, k: Int, n: Int, transposeB: Bool)] = [
        (768, 768, 768, false), (16, 768, 3072, false), (128, 768, 3072, false), (2048, 2048, 2048, false),
        (16, 768, 3072, true), (128, 768, 3072, true), (1024, 768, 3072, false),
    ]

    func run() {
        for shape in Self.shapes { gemm(shape) }
        rowKernels()
    }

    /// The products of `model`'s forward pass as it runs them (its weights in their stored format): every
    /// distinct `[out, in]` projection (of a mixture: expert 0's and the router) and the unembedding, at 16, 150
    /// and 1024 rows (the 1x16, 10x15 and 8x128 forward passes). `scripts/bench_peers.py --forward` times `torch.matmul` at the same shapes.
    func run(model: TransformerModel) {
        var matrices: [(String, WeightMatrix)] = []
        func add(_ name: String, _ matrix: WeightMatrix) {
            if !matrices.contains(where: { $0.1.shape == matrix.shape }) { matrices.append((name, matrix)) }
        }
        let block = model.blocks[0]
        for (name, linear) in [("q", block.attention.query), ("k", block.attention.key), ("o", block.attention.output)] {
            add(name, linear.matrix)
        }
        if let mlp = block.mlp { add("mlp in", mlp.input.matrix); add("mlp out", mlp.output.matrix) }
        if let mixture = block.mixture {
            add("expert in", mixture.experts[0].input.matrix); add("expert out", mixture.experts[0].output.matrix)
            add("router", mixture.router.matrix)
        }
        add("unembed", model.unembedding)
        var generator = SeededGenerator(seed: 1)
        for rows in [16, 150, 1024] {
            for (name, matrix) in matrices {
                let (n, k) = (matrix.shape[0], matrix.shape[1])
                let x = Tensor.randomUniform([rows, k], in: -1...1, using: &generator)
                let samples = report.timer.measure { _ = matrix.matmulTransposed(x) }
                let flops = 2 * Double(rows) * Double(k) * Double(n)
                report.record("gemm", "GEMM \(rows)x\(k)x\(n) (\(name), \(Self.format(of: matrix)))", samples: samples,
                              detail: String(format: "best %.1f GFLOP/s, median %.1f GFLOP/s, ", flops / samples.best / 1e9,
                                             flops / samples.median / 1e9) + samples.pageFaultNote)
            }
        }
    }

    static func format(of matrix: WeightMatrix) -> String {
        switch matrix {
        case .dense: return "f32"
        case .quantized(let quantized): return quantized.mode == .affine ? "q\(quantized.bits)" : quantized.mode.rawValue
        case .halfPrecision(let half): return half.format == .bfloat16 ? "bf16" : "f16"
        case .gguf(let packed): return packed.type.name
        }
    }

    private func rowKernels() {
        var generator = SeededGenerator(seed: 2)
        let x = Tensor.randomUniform([8, 128, 768], in: -1...1, using: &generator)
        let weight = Tensor.ones([768]), bias = Tensor.zeros([768])
        report.time("gemm", "softmax [8,128,768]") { _ = x.softmax(axis: -1) }
        report.time("gemm", "layerNorm [8,128,768]") { _ = x.layerNorm(weight: weight, bias: bias) }
    }

    private func gemm(_ shape: (m: Int, k: Int, n: Int, transposeB: Bool)) {
        let (m, k, n) = (shape.m, shape.k, shape.n)
        var generator = SeededGenerator(seed: 1)
        let a = Tensor.randomUniform([m, k], in: -1...1, using: &generator).scalars
        let b = Tensor.randomUniform([k, n], in: -1...1, using: &generator).scalars
        var c = [Float](repeating: 0, count: m * n)
        let samples = c.withUnsafeMutableBufferPointer { c in
            report.timer.measure {
                GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: shape.transposeB ? k : n,
                              transposeB: shape.transposeB, c: c.baseAddress!, ldc: n, path: path)
            }
        }
        let flops = 2 * Double(m) * Double(k) * Double(n)
        report.record("gemm", "GEMM \(m)x\(k)x\(n)\(shape.transposeB ? " (Bᵀ)" : "")", samples: samples,
                      detail: String(format: "best %.1f GFLOP/s, median %.1f GFLOP/s", flops / samples.best / 1e9,
                                     flops / samples.median / 1e9))
    }
}
