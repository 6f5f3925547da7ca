import Foundation
import Testing
import Tensors

@Suite struct AllocatorPolicyTests {
    /// The minor page faults of the calling thread so far (`RUSAGE_THREAD`, 1 on Linux).
    static func threadPageFaults() -> Int {
        var usage = rusage()
        getrusage(1, &usage)
        return usage.ru_minflt
    }

    /// The page faults of writing every element of a fresh `count`-element tensor and then freeing it.
    static func faultsOfFreshTensor(count: Int) -> Int {
        let before = threadPageFaults()
        let tensor = Tensor(repeating: 1, shape: [count])
        #expect(tensor.scalars[count - 1] == 1)
        return threadPageFaults() - before
    }

    /// The page faults of allocating and freeing a `count`-element tensor twice, the second allocation's, measured on
    /// a thread of its own.
    static func faultsOfSecondAllocation(count: Int) -> Int {
        /// Written by the thread before it signals, read after the wait.
        final class Result: @unchecked Sendable { var faults = 0 }
        let result = Result(), done = DispatchSemaphore(value: 0)
        Thread {
            _ = faultsOfFreshTensor(count: count)
            result.faults = faultsOfFreshTensor(count: count)
            done.signal()
        }.start()
        done.wait()
        return result.faults
    }

    /// A 48 MB block is above glibc's largest adaptive mmap threshold (32 MB), so by default it is mapped afresh
    /// and faulted in on every allocation; with the policy the second allocation reuses the first one's pages.
    ///
    /// The pair runs on a new thread: glibc gives it an arena of its own while the process has fewer than its limit
    /// (8 per core), whose first heap (64 MB) holds the block and is never unmapped. On a thread whose arena other
    /// tests have filled, the block would go to a further heap, which glibc unmaps whole once it is empty, whatever the
    /// trim threshold (``AllocatorPolicy`` says so). Threads may still share an arena and take the freed block between
    /// the two allocations, so the pair is tried up to three times, each on a new thread; without the policy every try
    /// faults every page.
    @Test func freedLargeBlockIsReusedWithoutPageFaults() {
        #expect(AllocatorPolicy.keepLargeBlocks())
        let count = 12 << 20, pages = count * MemoryLayout<Float>.size / 4096
        var tries: [Int] = []
        while tries.count < 3, tries.last.map({ $0 >= pages / 10 }) ?? true {
            tries.append(Self.faultsOfSecondAllocation(count: count))
        }
        #expect(tries.last! < pages / 10, "\(tries) page faults re-allocating a block of \(pages) pages")
    }
}
