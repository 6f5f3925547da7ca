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

    @Test func threadCountIsPositive() {
        #expect(Parallel.threadCount >= 1)
    }
}
