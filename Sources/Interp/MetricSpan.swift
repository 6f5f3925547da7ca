/// The difference between two metric values that a normalized figure divides by: faithfulness
/// `(m(C) − m(∅)) / (m(N) − m(∅))`, normalized patching effects `(v − corrupted) / (clean − corrupted)`, path
/// patching's effect `(v − clean) / (corrupted − clean)`.
///
/// When the two values (nearly) coincide, as when every corrupted prompt is its clean prompt or the corruption
/// changes nothing the metric reads, the ratio is 0/0 or float32 noise divided by noise: the span is
/// *degenerate*, ``fraction(_:)`` is NaN rather than a silent 0 or a huge number, and ``check(metric:zeroLabel:)``
/// refuses it by name.
public struct MetricSpan: Sendable, Equatable {
    /// The value the normalized figure maps to 0 (e.g. the corrupted run's metric).
    public let zero: Float
    /// The value it maps to 1 (e.g. the clean run's metric).
    public let one: Float

    public init(zero: Float, one: Float) {
        self.zero = zero
        self.one = one
    }

    /// Spans up to this fraction of max(1, |zero|, |one|) are degenerate: float32 metrics computed along different
    /// paths (a corrupted forward pass, every edge patched) differ by about 1e-6 of their size when they should be
    /// equal, and a difference of 1e-4 of a logit difference or a KL of 1e-4 nats moves nothing worth normalizing by.
    public static let relativeTolerance: Float = 1e-4

    /// Whether `one − zero` is too small to divide by (or not a number).
    public var isDegenerate: Bool {
        !(Swift.abs(one - zero) > Self.relativeTolerance * Swift.max(1, Swift.abs(zero), Swift.abs(one)))
    }

    /// `(value − zero) / (one − zero)`; NaN when the span is degenerate.
    public func fraction(_ value: Float) -> Float {
        isDegenerate ? .nan : (value - zero) / (one - zero)
    }

    /// Throws ``MetricSpanError`` when the span is degenerate.
    ///
    /// - Parameters:
    ///   - metric: the metric's name, for the message.
    ///   - zeroLabel: how the run of ``zero`` is named, e.g. `with every edge patched`.
    public func check(metric: String, zeroLabel: String = "on the corrupted run") throws {
        guard isDegenerate else { return }
        throw MetricSpanError(
            "the metric \(metric) is \(one) on the clean run and \(zero) \(zeroLabel): they differ by \(one - zero), "
            + "too little to normalize by (faithfulness and normalized effects divide by this difference); "
            + "do the corrupted prompts change what the metric reads?")
    }
}

/// A normalized figure whose clean and corrupted metric values (nearly) coincide: see ``MetricSpan``.
public struct MetricSpanError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
