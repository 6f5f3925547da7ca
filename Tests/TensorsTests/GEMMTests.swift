import Testing
import Tensors

/// The GEMM kernels against a double-precision triple loop.
@Suite struct GEMMTests {
    struct Problem {
        var m: Int, n: Int, k: Int
        var transposeA = false, transposeB = false
        var alpha: Float = 1, beta: Float = 0
    }

    /// Runs `problem` through `GEMM.multiply` with padded leading dimensions and returns the largest error
    /// against the reference, relative to the size of the terms.
    static func worstError(_ p: Problem, path: GEMM.Path) -> Double {
        var values = TestValues(seed: UInt64(p.m * 10_000 + p.n * 100 + p.k))
        let aRows = p.transposeA ? p.k : p.m, aColumns = p.transposeA ? p.m : p.k
        let bRows = p.transposeB ? p.n : p.k, bColumns = p.transposeB ? p.k : p.n
        let lda = aColumns + 3, ldb = bColumns + 1, ldc = p.n + 2
        let a = values.array(aRows * lda), b = values.array(bRows * ldb)
        var c = values.array(p.m * ldc)
        let original = c
        func opA(_ i: Int, _ l: Int) -> Double { Double(p.transposeA ? a[l * lda + i] : a[i * lda + l]) }
        func opB(_ l: Int, _ j: Int) -> Double { Double(p.transposeB ? b[j * ldb + l] : b[l * ldb + j]) }
        c.withUnsafeMutableBufferPointer { cBuffer in
            GEMM.multiply(m: p.m, n: p.n, k: p.k, a: a, lda: lda, transposeA: p.transposeA,
                          b: b, ldb: ldb, transposeB: p.transposeB, c: cBuffer.baseAddress!, ldc: ldc,
                          alpha: p.alpha, beta: p.beta, path: path)
        }
        var worst = 0.0
        for i in 0..<p.m {
            for j in 0..<ldc {
                let got = Double(c[i * ldc + j])
                guard j < p.n else {
                    worst = max(worst, got == Double(original[i * ldc + j]) ? 0 : .infinity)  // padding untouched
                    continue
                }
                var sum = 0.0
                for l in 0..<p.k { sum += opA(i, l) * opB(l, j) }
                let expected = Double(p.alpha) * sum + Double(p.beta) * Double(original[i * ldc + j])
                worst = max(worst, abs(got - expected) / Double(p.k + 1))
            }
        }
        return worst
    }

    static let supportedPaths = GEMM.Path.allCases.filter(\.isSupported)

    @Test(arguments: supportedPaths)
    func oddShapesAndTransposes(path: GEMM.Path) {
        let shapes = [(1, 1, 1), (7, 13, 5), (33, 65, 17), (9, 50, 3), (70, 100, 400), (130, 49, 20)]
        for (m, n, k) in shapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let problem = Problem(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
                    let error = Self.worstError(problem, path: path)
                    #expect(error < 1e-6, "\(path) \(problem): error \(error)")
                }
            }
        }
    }

    @Test(arguments: supportedPaths)
    func alphaAndBeta(path: GEMM.Path) {
        for (alpha, beta) in [(Float(2), Float(0.5)), (1, 1), (-0.5, 0), (0, 3)] {
            for (m, n, k) in [(7, 13, 5), (33, 65, 400), (100, 20, 9)] {
                let problem = Problem(m: m, n: n, k: k, transposeB: m == 33, alpha: alpha, beta: beta)
                let error = Self.worstError(problem, path: path)
                #expect(error < 1e-6, "\(path) \(problem): error \(error)")
            }
        }
    }

    /// Shapes large enough to be split between threads, with fewer tiles than threads along one axis.
    @Test func thinShapesSplitBetweenThreads() {
        for (m, n, k) in [(1, 1, 300_000), (2, 3000, 50), (3000, 3, 40), (16, 200, 768)] {
            for transposeB in [false, true] {
                let problem = Problem(m: m, n: n, k: k, transposeB: transposeB, beta: 0.5)
                let error = Self.worstError(problem, path: .automatic)
                #expect(error < 1e-6, "\(problem): error \(error)")
            }
        }
    }

    @Test func betaZeroIgnoresNaNInOutput() {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        var c = [Float](repeating: .nan, count: 4)
        c.withUnsafeMutableBufferPointer { c in
            GEMM.multiply(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: c.baseAddress!, ldc: 2)
        }
        #expect(c == [19, 22, 43, 50])
    }

    @Test func automaticPathResolvesToASupportedKernel() {
        let resolved = GEMM.Path.automatic.resolved
        #expect(resolved != .automatic && resolved.isSupported)
        #expect(GEMM.Path.portable.isSupported && GEMM.Path.portable.resolved == .portable)
    }
}
