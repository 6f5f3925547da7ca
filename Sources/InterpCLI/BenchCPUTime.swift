import Foundation

extension BenchTimer {
    /// The CPU time (user + system, all threads of this process) `body` takes, in seconds. On a machine shared
    /// with other work this varies far less than wall time; with `--threads 1` it is the work itself.
    static func cpuSeconds(_ body: () throws -> Void) rethrows -> Double {
        let start = processCPUSeconds()
        try body()
        return processCPUSeconds() - start
    }

    /// The wall-clock and CPU seconds of one run of `body`.
    static func wallAndCPUSeconds(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
        let start = processCPUSeconds()
        let wall = try seconds(body)
        return (wall, processCPUSeconds() - start)
    }
}
