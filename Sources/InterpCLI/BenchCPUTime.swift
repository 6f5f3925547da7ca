import Foundation

/// Processor time (user + system, every thread) of this process: less distorted than wall time on a loaded machine.
enum BenchCPUTime {
    static func seconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func value(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return value(usage.ru_utime) + value(usage.ru_stime)
    }

    /// The wall and processor seconds of `body`.
    static func measure(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
        let start = seconds()
        let wall = try BenchTimer.seconds(body)
        return (wall, seconds() - start)
    }
}
