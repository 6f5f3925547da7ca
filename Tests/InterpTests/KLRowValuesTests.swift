import Foundation
import Testing
import Interp

/// The KL metric's per-example values (``Metric/rowValues``), evaluated for several runs of a batch at once in one
/// fused pass per row: each equals KL(p ‖ q) = Σ p (log p − log q) computed in Double from the softmax definition,
/// their mean is the metric, and a row's value does not depend on how many runs are evaluated with it.
@Suite struct KLRowValuesTests {
    /// The softmax of one row, in Double.
    static func softmax(_ row: [Float]) -> [Double] {
        let top = Double(row.max()!)
        let exps = row.map { Foundation.exp(Double($0) - top) }
        let total = exps.reduce(0, +)
        return exps.map { $0 / total }
    }

    @Test func fusedRowsMatchTheDefinition() throws {
        var generator = SeededGenerator(seed: 5)
        // 37 columns: rows are walked 8 lanes at a time with a partial last block.
        let (batch, vocabulary, runs) = (3, 37, 4)
        let reference = Tensor.randomNormal([batch, vocabulary], standardDeviation: 2, using: &generator)
        let logits = Tensor.randomNormal([runs * batch, vocabulary], standardDeviation: 2, using: &generator)
        let metric = Metric.klDivergence(reference: reference)
        let rowValues = try #require(metric.rowValues)
        let values = rowValues(logits)
        #expect(values.count == runs * batch)
        for row in 0..<(runs * batch) {
            let p = Self.softmax(Array(reference.scalars[((row % batch) * vocabulary)..<((row % batch + 1) * vocabulary)]))
            let q = Self.softmax(Array(logits.scalars[(row * vocabulary)..<((row + 1) * vocabulary)]))
            let expected = zip(p, q).map { $0 * (Foundation.log($0) - Foundation.log($1)) }.reduce(0, +)
            #expect(Swift.abs(Double(values[row]) - expected) < 1e-5 * Swift.max(1, expected), "row \(row): \(values[row]) vs \(expected)")
        }
        for run in 0..<runs {
            let part = logits.slice(axis: 0, (run * batch)..<((run + 1) * batch))
            let mean = values[(run * batch)..<((run + 1) * batch)].reduce(0, +) / Float(batch)
            #expect(Swift.abs(mean - metric(part).item) < 1e-5, "run \(run): the mean of the rows is the metric")
            #expect(rowValues(part) == Array(values[(run * batch)..<((run + 1) * batch)]), "run \(run) alone")
        }
    }
}
