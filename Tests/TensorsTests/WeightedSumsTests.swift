import Testing
import Tensors

/// `Tensor.WeightedSums` against sums written out in Double, for shared, sparse and dense weights.
@Suite struct WeightedSumsTests {
    /// `row[r] = Σ_i weights[i][r] · vector_i` in Double precision, `[rows][length]`.
    func expected(_ vectors: [(Tensor, Int)], _ weights: [[Float]], rows: Int, length: Int) -> [[Double]] {
        (0..<rows).map { r in
            (0..<length).map { x in
                zip(vectors, weights).reduce(0.0) { sum, term in
                    sum + Double(term.1[r]) * Double(term.0.0.scalars[term.0.1 + x])
                }
            }
        }
    }

    @Test(arguments: [(1, 37, nil), (5, 96, 16), (7, 3 * 40, 40), (12, 2 * 768, 768), (3, 1000, nil)] as [(Int, Int, Int?)])
    func matchesDirectSums(rows: Int, length: Int, interleaving: Int?) {
        let source = Tensor.random([3 * length + 5], seed: UInt64(rows * 1000 + length))
        let vectors = (0..<6).map { (source, $0 % 3 * length + $0 % 2) }
        // Shared (equal) weights, one-row (sparse) weights, dense weights, zeros.
        let weights: [[Float]] = [
            Array(repeating: 0.5, count: rows),
            (0..<rows).map { $0 == rows - 1 ? -2 : 0 },
            (0..<rows).map { Float($0) - 1.5 },
            Array(repeating: 0, count: rows),
            Array(repeating: -1, count: rows),
            (0..<rows).map { $0 % 2 == 0 ? 1 : 0 },
        ]
        var sums = Tensor.WeightedSums(rows: rows, length: length)
        for (vector, w) in zip(vectors, weights) { sums.add(.init(vector.0, offset: vector.1), weights: w) }
        let result = sums.result(interleaving: interleaving)
        let segment = interleaving ?? length
        #expect(result.shape == (interleaving == nil ? [rows, length] : [length / segment, rows, segment]))
        let reference = expected(vectors, weights, rows: rows, length: length)
        for r in 0..<rows {
            for x in 0..<length {
                let value = result.scalars[(x / segment) * rows * segment + r * segment + x % segment]
                #expect(abs(Double(value) - reference[r][x]) < 1e-5, "row \(r), element \(x)")
            }
        }
    }

    /// Folding after some vectors and adding the rest gives the direct sums of all of them.
    @Test func foldingPartWayGivesTheSameSums() {
        let rows = 4, length = 50
        let source = Tensor.random([3 * length], seed: 7)
        let vectors = (0..<3).map { (source, $0 * length) }
        let weights: [[Float]] = [[1, 0, -2, 0.5], [0.25, 0.25, 0.25, 0.25], [0, 3, 0, -1]]
        var sums = Tensor.WeightedSums(rows: rows, length: length)
        sums.add(.init(vectors[0].0, offset: vectors[0].1), weights: weights[0])
        sums.fold()
        sums.add(.init(vectors[1].0, offset: vectors[1].1), weights: weights[1])
        sums.fold()
        sums.add(.init(vectors[2].0, offset: vectors[2].1), weights: weights[2])
        let result = sums.result(), reference = expected(vectors, weights, rows: rows, length: length)
        for r in 0..<rows {
            for x in 0..<length { #expect(abs(Double(result.scalars[r * length + x]) - reference[r][x]) < 1e-5, "row \(r), element \(x)") }
        }
    }

    @Test func noVectorsGiveZeros() {
        #expect(Tensor.WeightedSums(rows: 3, length: 20).result(interleaving: 10).scalars == [Float](repeating: 0, count: 60))
    }
}
