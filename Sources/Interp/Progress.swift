/// Where a long computation stands: a step, and how many of its units (tests, steps, cells) are done out of
/// the expected total.
public struct ProgressUpdate: Sendable, Equatable {
    /// The step, e.g. "ACDC".
    public let step: String
    public let done: Int
    /// The expected total; it may fall while the step runs (ACDC skips receivers nothing reads).
    public let total: Int
    /// What a unit is, e.g. "tests".
    public let unit: String

    public init(step: String, done: Int, total: Int, unit: String) {
        self.step = step
        self.done = done
        self.total = total
        self.unit = unit
    }
}

/// Receives progress from long computations (circuit discovery, patching sweeps, whole studies).
///
/// Computations report between units of work (after a batch of tests, a step, a cell), never inside kernels,
/// so a reporter costs one closure call per unit; drawing and throttling are the receiver's business.
///
/// ```swift
/// let reporter = ProgressReporter { print("\($0.step): \($0.done)/\($0.total) \($0.unit)") }
/// let study = try CircuitStudy.run(model: model, pairs: pairs, progress: reporter)
/// ```
public struct ProgressReporter: Sendable {
    private let receive: @Sendable (ProgressUpdate) -> Void

    public init(_ receive: @escaping @Sendable (ProgressUpdate) -> Void) { self.receive = receive }

    /// A reporter that ignores everything.
    public static let silent = ProgressReporter { _ in }

    public func report(_ step: String, done: Int, total: Int, unit: String) {
        receive(ProgressUpdate(step: step, done: done, total: total, unit: unit))
    }

    /// A `(done, total)` callback that reports under `step`, for APIs that count units.
    public func counter(_ step: String, unit: String) -> (Int, Int) -> Void {
        { done, total in report(step, done: done, total: total, unit: unit) }
    }
}
