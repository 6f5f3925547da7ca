import Foundation

/// The outcome of a patching sweep: a matrix of metric values with labelled axes.
public struct PatchingResult: Codable {
    /// One axis of the result, e.g. `layer` with labels `0...11`, or `position` with token labels.
    public struct Axis: Codable, Equatable {
        public let name: String
        public let labels: [String]

        public init(name: String, labels: [String]) {
            self.name = name
            self.labels = labels
        }

        /// Whether the axis runs over token positions (`position`, or a pattern's `destination` and `source`).
        public var isPosition: Bool { ["position", "destination", "source"].contains(name) }
    }

    /// The swept component (`resid_pre`, `head_out`, ...).
    public let component: String
    public let axes: [Axis]
    /// Row-major values, `axes.map(\.labels.count)` in shape: the metric of each patched run (or the
    /// attribution estimate of its change).
    public let values: [Float]
    public let metric: String
    /// `denoising` (clean activations into the corrupted run) or `noising` (the reverse).
    public let direction: String
    /// The metric on the clean and the corrupted run, unpatched.
    public let cleanValue: Float
    public let corruptedValue: Float

    public init(component: String, axes: [Axis], values: [Float], metric: String, direction: String,
                cleanValue: Float, corruptedValue: Float) {
        precondition(values.count == axes.map(\.labels.count).reduce(1, *), "values do not fill the axes")
        self.component = component
        self.axes = axes
        self.values = values
        self.metric = metric
        self.direction = direction
        self.cleanValue = cleanValue
        self.corruptedValue = corruptedValue
    }

    public var shape: [Int] { axes.map(\.labels.count) }
    /// The values as a tensor.
    public var tensor: Tensor { Tensor(shape: shape, scalars: values) }

    /// `(v − corrupted) / (clean − corrupted)`: 1 where the patch fully restores (denoising) or keeps the
    /// clean behaviour, 0 where it leaves the corrupted behaviour; NaN when clean and corrupted (nearly) coincide
    /// (``MetricSpan/isDegenerate``).
    public var normalized: [Float] {
        values.map(span.fraction)
    }

    /// The clean − corrupted difference that ``normalized`` divides by.
    public var span: MetricSpan { MetricSpan(zero: corruptedValue, one: cleanValue) }

    /// The `n` entries of largest |effect| (distance from the unpatched run's value), largest first.
    public func top(_ n: Int) -> [(labels: [String], value: Float)] {
        let baseline = direction == PatchDirection.denoising.rawValue ? corruptedValue : cleanValue
        let strides = Tensor.zeros(shape).strides
        return values.indices.sorted { Swift.abs(values[$0] - baseline) > Swift.abs(values[$1] - baseline) }
            .prefix(n).map { index in
                (axes.indices.map { axes[$0].labels[(index / strides[$0]) % shape[$0]] }, values[index])
            }
    }

    /// A plain-text table of a 2-D result (rows: first axis, columns: second).
    public var table: String {
        guard axes.count == 2 else { return top(20).map { "\($0.labels.joined(separator: " ")): \($0.value)" }.joined(separator: "\n") }
        let columns = axes[1].labels
        var lines = ["\(axes[0].name)\\\(axes[1].name)\t" + columns.joined(separator: "\t")]
        for (r, row) in axes[0].labels.enumerated() {
            let cells = (0..<columns.count).map { String(format: "%.4f", values[r * columns.count + $0]) }
            lines.append(row + "\t" + cells.joined(separator: "\t"))
        }
        return lines.joined(separator: "\n")
    }

    /// JSON encoding of the result.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
