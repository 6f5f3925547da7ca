import Foundation

extension BenchTimer {
    /// The minor page faults of this process so far: first touches of pages the kernel then maps and zero-fills.
    static func processPageFaults() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_minflt
    }
}

extension BenchSamples {
    /// The median page faults of one timed run, for a figure's detail (`"N page faults/run"`).
    var pageFaultNote: String {
        let sorted = pageFaults.sorted()
        return sorted.isEmpty ? "" : "\(sorted[sorted.count / 2]) page faults/run"
    }
}
