import Dispatch
import Foundation

/// The shared worker pool of the tensor kernels.
///
/// Work is split statically: `forEach(count)` hands item `i` to the same chunk every time, and callers
/// make items independent, so results never depend on timing or on the number of threads.
///
/// Only one parallel region runs at a time. A region started while another is running (a parallel
/// kernel called from inside a parallel loop, or from another thread) runs serially on the calling
/// thread, so nesting never oversubscribes the cores.
///
/// ```swift
/// Parallel.forEach(rows) { row in normalize(row) }
/// Parallel.threadCount = 1   // run everything on the calling thread
/// ```
public enum Parallel {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var configuredThreadCount = ProcessInfo.processInfo.activeProcessorCount
    nonisolated(unsafe) private static var regionIsActive = false

    /// The number of threads a parallel region uses (at least 1). Defaults to the number of active cores.
    public static var threadCount: Int {
        get { lock.withLock { configuredThreadCount } }
        set {
            precondition(newValue >= 1, "Parallel.threadCount must be at least 1, got \(newValue)")
            lock.withLock { configuredThreadCount = newValue }
        }
    }

    /// Calls `body(i)` for every `i` in `0..<count`, spread over the pool in contiguous chunks.
    ///
    /// `body` must be safe to call concurrently for different indices.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let threads = claimRegion(for: count)
        guard threads > 1 else {
            for i in 0..<count { body(i) }
            return
        }
        defer { releaseRegion() }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: threads) { chunk in
                for i in (count * chunk / threads)..<(count * (chunk + 1) / threads) { body(i) }
            }
        }
    }

    /// Marks a region of `count` items as running and returns its thread count; returns 1 (and marks
    /// nothing) when the region should run serially.
    private static func claimRegion(for count: Int) -> Int {
        lock.withLock {
            guard count > 1, configuredThreadCount > 1, !regionIsActive else { return 1 }
            regionIsActive = true
            return min(count, configuredThreadCount)
        }
    }

    private static func releaseRegion() {
        lock.withLock { regionIsActive = false }
    }
}
