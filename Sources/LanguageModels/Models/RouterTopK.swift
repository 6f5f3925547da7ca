/// The `k` largest of a router's probabilities chosen as `torch.topk` chooses them on the CPU, ties included, so that a
/// token whose k-th and (k+1)-th experts are exactly equally probable goes to the experts transformers picks.
///
/// PyTorch's CPU top-k (`topk_impl_loop`) orders `(value, index)` pairs by value alone with libstdc++'s algorithms: a
/// partial sort (heap selection, then a heap sort) when `k · 64 <= count`, otherwise `nth_element` (introselect:
/// median-of-three pivots, Hoare partitions, insertion sort below 4 elements) followed by a sort of the first `k - 1`.
/// Which experts are chosen follows from the selection, which is reproduced step for step; their order among equal
/// values follows the final sort, reproduced for `k <= 17` (libstdc++ sorts up to 16 elements by insertion).
/// Checked against `torch.topk` on tie-heavy rows by `scripts/make_family_fixtures.py` (`router_ties`).
public enum RouterTopK {
    typealias Entry = (value: Float, index: Int)

    /// The indices of the `k` largest `values`, largest first.
    public static func indices(_ values: some Collection<Float>, k: Int) -> [Int] {
        var entries = values.enumerated().map { Entry($0.element, $0.offset) }
        if k * 64 <= entries.count {
            heapSelect(&entries, 0, k, entries.count)
            sortHeap(&entries, 0, k)
        } else {
            nthElement(&entries, k - 1)
            insertionSort(&entries, 0, k - 1)
        }
        return entries.prefix(k).map(\.index)
    }

    /// libstdc++'s comparator as PyTorch passes it: strictly larger first (no NaNs in router probabilities).
    private static func before(_ x: Entry, _ y: Entry) -> Bool { x.value > y.value }

    private static func insertionSort(_ a: inout [Entry], _ first: Int, _ last: Int) {
        guard first < last else { return }
        for i in (first + 1)..<last {
            let value = a[i]
            if before(value, a[first]) {
                for j in stride(from: i, to: first, by: -1) { a[j] = a[j - 1] }
                a[first] = value
            } else {
                var j = i
                while before(value, a[j - 1]) { a[j] = a[j - 1]; j -= 1 }
                a[j] = value
            }
        }
    }

    /// `std::nth_element(first, first + nth, last)`.
    private static func nthElement(_ a: inout [Entry], _ nth: Int) {
        var first = 0, last = a.count
        guard nth < last else { return }
        var depth = 2 * (Int.bitWidth - 1 - last.leadingZeroBitCount)
        while last - first > 3 {
            if depth == 0 {
                heapSelect(&a, first, nth + 1, last)
                a.swapAt(first, nth)
                return
            }
            depth -= 1
            moveMedianToFirst(&a, first, first + 1, first + (last - first) / 2, last - 1)
            let cut = unguardedPartition(&a, first + 1, last, pivot: first)
            if cut <= nth { first = cut } else { last = cut }
        }
        insertionSort(&a, first, last)
    }

    private static func moveMedianToFirst(_ a: inout [Entry], _ result: Int, _ x: Int, _ y: Int, _ z: Int) {
        let median: Int
        if before(a[x], a[y]) {
            median = before(a[y], a[z]) ? y : before(a[x], a[z]) ? z : x
        } else {
            median = before(a[x], a[z]) ? x : before(a[y], a[z]) ? z : y
        }
        a.swapAt(result, median)
    }

    private static func unguardedPartition(_ a: inout [Entry], _ start: Int, _ end: Int, pivot: Int) -> Int {
        var first = start, last = end
        while true {
            while before(a[first], a[pivot]) { first += 1 }
            last -= 1
            while before(a[pivot], a[last]) { last -= 1 }
            if first >= last { return first }
            a.swapAt(first, last)
            first += 1
        }
    }

    // The heap of libstdc++ (`__make_heap`, `__adjust_heap`, `__push_heap`, `__pop_heap`) on a[first..<last].

    private static func pushHeap(_ a: inout [Entry], _ first: Int, hole start: Int, top: Int, _ value: Entry) {
        var hole = start, parent = (hole - 1) / 2
        while hole > top && before(a[first + parent], value) {
            a[first + hole] = a[first + parent]
            hole = parent
            parent = (hole - 1) / 2
        }
        a[first + hole] = value
    }

    private static func adjustHeap(_ a: inout [Entry], _ first: Int, hole start: Int, count: Int, _ value: Entry) {
        var hole = start, child = start
        while child < (count - 1) / 2 {
            child = 2 * (child + 1)
            if before(a[first + child], a[first + child - 1]) { child -= 1 }
            a[first + hole] = a[first + child]
            hole = child
        }
        if count % 2 == 0 && child == (count - 2) / 2 {
            child = 2 * (child + 1)
            a[first + hole] = a[first + child - 1]
            hole = child - 1
        }
        pushHeap(&a, first, hole: hole, top: start, value)
    }

    private static func makeHeap(_ a: inout [Entry], _ first: Int, _ last: Int) {
        let count = last - first
        guard count >= 2 else { return }
        for parent in stride(from: (count - 2) / 2, through: 0, by: -1) {
            adjustHeap(&a, first, hole: parent, count: count, a[first + parent])
        }
    }

    private static func popHeap(_ a: inout [Entry], _ first: Int, _ last: Int, result: Int) {
        let value = a[result]
        a[result] = a[first]
        adjustHeap(&a, first, hole: 0, count: last - first, value)
    }

    private static func heapSelect(_ a: inout [Entry], _ first: Int, _ middle: Int, _ last: Int) {
        makeHeap(&a, first, middle)
        for i in middle..<last where before(a[i], a[first]) { popHeap(&a, first, middle, result: i) }
    }

    private static func sortHeap(_ a: inout [Entry], _ first: Int, _ end: Int) {
        var last = end
        while last - first > 1 {
            last -= 1
            popHeap(&a, first, last, result: last)
        }
    }
}
