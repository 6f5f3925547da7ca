import Testing
import Tensors
import Foundation

@Suite struct ParallelTests {
    final class Counts: @unchecked Sendable {
        private let lock = NSLock()
        private var counts: [Int]
        init(_ count: Int) { counts = Array(repeating: 0, count: count) }
        func add(_ i: Int) { lock.withLock { counts[i] += 1 } }
        var values: [Int] { lock.withLock { counts } }
    }

    @Test func everyIndexRunsOnce() {
        for count in [0, 1, 2, 3, 17, 1000] {
            let counts = Counts(count)
            Parallel.forEach(count) { counts.add($0) }
            #expect(counts.values == Array(repeating: 1, count: count))
        }
    }

    @Test func nestedRegionsRunSeriallyAndComplete() {
        let counts = Counts(12)
        Parallel.forEach(3) { outer in
            Parallel.forEach(4) { inner in counts.add(outer * 4 + inner) }
        }
        #expect(counts.values == Array(repeating: 1, count: 12))
    }

    @Test func manyBackToBackRegionsComplete() {
        let counts = Counts(64)
        for _ in 0..<5000 { Parallel.forEach(64) { counts.add($0) } }
        #expect(counts.values == Array(repeating: 5000, count: 64))
    }

    @Test func regionsStartedFromSeveralThreadsComplete() {
        let counts = Counts(37)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<300 { Parallel.forEach(37) { counts.add($0) } }
        }
        #expect(counts.values == Array(repeating: 1200, count: 37))
    }

    @Test func moreThreadsThanCoresStartMoreWorkers() {
        let threads = Parallel.threadCount
        defer { Parallel.threadCount = threads }
        Parallel.threadCount = 2 * ProcessInfo.processInfo.activeProcessorCount + 1
        let counts = Counts(101)
        for _ in 0..<100 { Parallel.forEach(101) { counts.add($0) } }
        #expect(counts.values == Array(repeating: 100, count: 101))
    }

    @Test func threadCountIsPositive() {
        #expect(Parallel.threadCount >= 1)
    }
}
