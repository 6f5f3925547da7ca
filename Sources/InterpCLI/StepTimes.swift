import Circuits
import Foundation

/// The wall-clock and CPU time of each step of a long command (`interp demo --timings`): a step runs from the first
/// progress update naming it to the first naming another step, or to ``finish()``; a step entered again (after a
/// nested one) adds to its first entry.
final class StepTimes: @unchecked Sendable {
    private(set) var steps: [(name: String, seconds: Double, cpuSeconds: Double)] = []
    private var current: String?
    private var started = Date()
    private var startedCPU = 0.0

    /// Starts `step` (ending the current one) unless it is the current one.
    func enter(_ step: String) {
        guard step != current else { return }
        finish()
        current = step
        started = Date()
        startedCPU = BenchTimer.processCPUSeconds()
    }

    /// Ends the current step.
    func finish() {
        guard let current else { return }
        let seconds = Date().timeIntervalSince(started), cpuSeconds = BenchTimer.processCPUSeconds() - startedCPU
        if let i = steps.firstIndex(where: { $0.name == current }) {
            steps[i].seconds += seconds
            steps[i].cpuSeconds += cpuSeconds
        } else {
            steps.append((current, seconds, cpuSeconds))
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

    /// One line per step (wall-clock seconds, then the process's CPU seconds over all threads), then the totals.
    var summary: String {
        let width = steps.map(\.name.count).max() ?? 0
        func times(_ wall: Double, _ cpu: Double) -> String { String(format: "%7.1f s  (CPU %.1f s)", wall, cpu) }
        let lines = steps.map { "  \($0.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(times($0.seconds, $0.cpuSeconds))" }
        let total = "  \("total".padding(toLength: width, withPad: " ", startingAt: 0))  "
            + times(steps.map(\.seconds).reduce(0, +), steps.map(\.cpuSeconds).reduce(0, +))
        return (["Step times:"] + lines + [total]).joined(separator: "\n")
    }
}
