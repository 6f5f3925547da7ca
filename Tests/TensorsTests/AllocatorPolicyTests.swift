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

    /// A 48 MB block is above glibc's largest adaptive mmap threshold (32 MB), so by default it is mapped afresh
    /// and faulted in on every allocation; with the policy the second allocation reuses the first one's pages (on
    /// a worker thread too: its arena heap holds blocks up to 64 MB).
    ///
    /// Tests running at the same time may share this thread's arena and take the freed block between the two
    /// allocations, so the pair is tried up to three times; without the policy every try faults every page.
    @Test func freedLargeBlockIsReusedWithoutPageFaults() {
        #expect(AllocatorPolicy.keepLargeBlocks())
        let count = 12 << 20, pages = count * MemoryLayout<Float>.size / 4096
        var tries: [Int] = []
        while tries.count < 3, tries.last.map({ $0 >= pages / 10 }) ?? true {
            _ = Self.faultsOfFreshTensor(count: count)
            tries.append(Self.faultsOfFreshTensor(count: count))
        }
        #expect(tries.last! < pages / 10, "\(tries) page faults re-allocating a block of \(pages) pages")
    }
}
