import Circuits
import Foundation

/// The wall-clock time of each step of a long command (`interp demo --timings`): a step runs from the first
/// progress update naming it to the first naming another step, or to ``finish()``; a step entered again (after a
/// nested one) adds to its first entry.
final class StepTimes: @unchecked Sendable {
    private(set) var steps: [(name: String, seconds: Double)] = []
    private var current: String?
    private var started = Date()

    /// Starts `step` (ending the current one) unless it is the current one.
    func enter(_ step: String) {
        guard step != current else { return }
        finish()
        current = step
        started = Date()
    }

    /// Ends the current step.
    func finish() {
        guard let current else { return }
        let seconds = Date().timeIntervalSince(started)
        if let i = steps.firstIndex(where: { $0.name == current }) {
            steps[i].seconds += seconds
        } else {
            steps.append((current, seconds))
        }
        self.current = nil
    }

    /// A reporter that times the steps it hears and passes every update on to `next`.
    func reporter(passingTo next: ProgressReporter) -> ProgressReporter {
        ProgressReporter { update in
            self.enter(update.step)
            next.report(update.step, done: update.done, total: update.total, unit: update.unit)
        }
    }

    /// One line per step, then the total.
    var summary: String {
        let width = steps.map(\.name.count).max() ?? 0
        let lines = steps.map { "  \($0.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(String(format: "%7.1f", $0.seconds)) s" }
        return (["Step times:"] + lines + ["  total \(String(format: "%.1f", steps.map(\.seconds).reduce(0, +))) s"]).joined(separator: "\n")
    }
}
