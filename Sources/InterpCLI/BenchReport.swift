import Foundation

/// One benchmark figure: a time (seconds), a rate or a size, with an optional ratio to a reference figure.
struct BenchMeasurement: Codable {
    let suite: String
    let name: String
    /// `s`, `GB` or `GFLOP/s`.
    let unit: String
    /// The best and median of the timed runs (equal for single-valued figures such as memory).
    let best: Double
    let median: Double
    let runs: Int
    /// What ``ratio`` divides by, e.g. `forward 1x15`.
    var reference: String?
    /// `median / reference median` (or `value / reference value`).
    var ratio: Double?
    /// The target, as the issue states it.
    var goal: String?
    /// Anything else worth printing (edge counts, kept edges, load time).
    var detail: String?
}

/// Best and median wall-clock seconds of repeated runs.
struct BenchSamples {
    let seconds: [Double]
    /// The minor page faults of each run after the warm-up (a kept warm-up run maps its buffers for the first time).
    var pageFaults: [Int] = []
    var best: Double { seconds.min()! }
    var median: Double {
        let sorted = seconds.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

/// Times workloads: one warm-up run (kept as a sample when it takes longer than `warmUpLimit` seconds),
/// then timed runs until `repetitions` samples or `budget` seconds of samples.
struct BenchTimer {
    var repetitions: Int
    var budget: Double
    var warmUpLimit = 2.0
    /// Time each run as the process's CPU time (user + system) instead of wall-clock time.
    var cpuTime = false

    func measure(_ body: () throws -> Void) rethrows -> BenchSamples {
        let first = try seconds(body)
        var samples = first >= warmUpLimit ? [first] : []
        var pageFaults: [Int] = []
        while samples.count < repetitions && (samples.isEmpty || samples.reduce(0, +) < budget) {
            let faults = Self.processPageFaults()
            samples.append(try seconds(body))
            pageFaults.append(Self.processPageFaults() - faults)
        }
        return BenchSamples(seconds: samples, pageFaults: pageFaults)
    }

    /// One run of `body`, on this timer's clock (CPU time with ``cpuTime``, else wall-clock), without a warm-up.
    func seconds(_ body: () throws -> Void) rethrows -> Double {
        try cpuTime ? Self.cpuSeconds(body) : Self.seconds(body)
    }

    /// The CPU time (user + system) of every thread of this process so far.
    static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}

/// Collects the figures of a bench run and prints them as a table or as JSON.
final class BenchReport {
    private(set) var measurements: [BenchMeasurement] = []
    let timer: BenchTimer

    init(timer: BenchTimer) { self.timer = timer }

    /// Times `body` and records it; returns the samples for later ratios.
    @discardableResult
    func time(_ suite: String, _ name: String, reference: (name: String, seconds: Double)? = nil, goal: String? = nil,
              detail: String? = nil, _ body: () throws -> Void) rethrows -> BenchSamples {
        BenchLog.note("\(suite): \(name) ...")
        let samples = try timer.measure(body)
        record(suite, name, samples: samples, reference: reference, goal: goal, detail: detail)
        return samples
    }

    /// Records already measured samples.
    func record(_ suite: String, _ name: String, samples: BenchSamples, reference: (name: String, seconds: Double)? = nil,
                goal: String? = nil, detail: String? = nil) {
        measurements.append(BenchMeasurement(
            suite: suite, name: name, unit: "s", best: samples.best, median: samples.median, runs: samples.seconds.count,
            reference: reference?.name, ratio: reference.map { samples.median / $0.seconds }, goal: goal, detail: detail))
    }

    /// Records a single value that is not a time.
    func record(_ suite: String, _ name: String, value: Double, unit: String, reference: (name: String, value: Double)? = nil,
                goal: String? = nil, detail: String? = nil) {
        measurements.append(BenchMeasurement(
            suite: suite, name: name, unit: unit, best: value, median: value, runs: 1,
            reference: reference?.name, ratio: reference.map { value / $0.value }, goal: goal, detail: detail))
    }

    /// Sets the detail of a recorded figure (for details known only after the timed runs).
    func annotate(_ index: Int, detail: String) { measurements[index].detail = detail }

    func printTable(header: String) {
        print(header)
        let rows = [["suite", "workload", "median", "best", "runs", "ratio", "vs", "goal", "detail"]]
            + measurements.map { m in
                [m.suite, m.name, Self.format(m.median, unit: m.unit), Self.format(m.best, unit: m.unit), "\(m.runs)",
                 m.ratio.map { String(format: "%.3fx", $0) } ?? "", m.reference ?? "", m.goal ?? "", m.detail ?? ""]
            }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max()! }
        for row in rows {
            print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
    }

    func printJSON(header: String) throws {
        struct Document: Codable { let header: String; let measurements: [BenchMeasurement] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(Document(header: header, measurements: measurements)), as: UTF8.self))
    }

    static func format(_ value: Double, unit: String) -> String {
        switch unit {
        case "s": return value < 1 ? String(format: "%.2f ms", value * 1e3) : String(format: "%.3f s", value)
        case "GB": return String(format: "%.3f GB", value)
        default: return String(format: "%.1f %@", value, unit)
        }
    }
}

/// Progress notes on standard error, so that standard output stays a clean table or JSON document.
enum BenchLog {
    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
