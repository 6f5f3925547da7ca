import Foundation

/// The shared worker pool of the tensor kernels.
///
/// Work is split statically: `forEach(count)` hands item `i` to the same chunk every time, and callers
/// make items independent, so results never depend on timing or on the number of threads (which thread runs
/// a chunk does: the caller takes the chunks of a worker that has not started yet).
///
/// The workers are started on the first parallel region and live as long as the process. Between regions
/// they spin on a shared word for at most ``spinDuration``, so that back-to-back regions (a forward pass runs
/// hundreds) start without a wake-up, then sleep until the next region, so an idle process uses no CPU.
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
    nonisolated(unsafe) private static var pool: WorkerPool?

    /// How long a worker, and a region's caller waiting for its workers, spins before going to sleep: 50 µs.
    public static let spinDuration: Duration = .microseconds(50)

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
        guard let (pool, threads) = claimRegion(for: count) else {
            for i in 0..<count { body(i) }
            return
        }
        defer { releaseRegion() }
        pool.run(count: count, chunks: threads, body)
    }

    /// Marks a region of `count` items as running and returns the pool (with at least `threads - 1` workers)
    /// and its thread count; returns nil (and marks nothing) when the region should run serially.
    private static func claimRegion(for count: Int) -> (WorkerPool, Int)? {
        lock.withLock {
            guard count > 1, configuredThreadCount > 1, !regionIsActive else { return nil }
            regionIsActive = true
            let threads = min(count, configuredThreadCount)
            let pool = pool ?? WorkerPool(spinNanoseconds: Int(spinDuration / .nanoseconds(1)))
            Parallel.pool = pool
            pool.ensureWorkers(threads - 1)
            return (pool, threads)
        }
    }

    private static func releaseRegion() {
        lock.withLock { regionIsActive = false }
    }
}
