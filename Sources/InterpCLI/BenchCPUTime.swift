import Foundation

extension BenchTimer {
    /// The CPU time (user + system, all threads of this process) `body` takes, in seconds. On a machine shared
    /// with other work this varies far less than wall time; with `--threads 1` it is the work itself.
    static func cpuSeconds(_ body: () throws -> Void) rethrows -> Double {
        func now() -> Double {
            var time = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        }
        let start = now()
        try body()
        return now() - start
    }
}
