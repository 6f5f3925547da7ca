import Foundation
import Testing
import Tensors

/// The detected cache sizes are plausible and, where Linux describes the caches in sysfs, equal to its sizes
/// (an independent reading: the kernel's own cache enumeration).
@Suite struct CPUCachesTests {
    @Test func sizesArePlausible() {
        let caches = CPUCaches.detected
        #expect(caches.l1d.bytes > 0 && caches.l1d.bytes <= caches.l2.bytes && caches.l2.bytes <= caches.l3.bytes,
                "\(caches.summary)")
        #expect(caches.l3.bytesPerCPU <= 256 << 20, "\(caches.summary)")
        for level in [caches.l1d, caches.l2, caches.l3] { #expect(level.sharingCPUs >= 1) }
        #expect(["cpuid", "sysfs", "sysconf", "sysctl", "defaults"].contains(caches.source))
    }

    @Test func sizesEqualSysfs() throws {
        let directory = "/sys/devices/system/cpu/cpu0/cache"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var sysfs: [Int: Int] = [:]
        for entry in entries where entry.hasPrefix("index") {
            let path = "\(directory)/\(entry)"
            guard let level = read("\(path)/level").flatMap(Int.init), let type = read("\(path)/type"),
                  type != "Instruction", let size = read("\(path)/size") else { continue }
            let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
            let scale = size.last.flatMap { units[$0] } ?? 1
            guard let value = Int(scale == 1 ? size : String(size.dropLast())) else { continue }
            sysfs[level] = value * scale
        }
        let caches = CPUCaches.detected
        for (level, detected) in [(1, caches.l1d), (2, caches.l2), (3, caches.l3)] {
            guard let bytes = sysfs[level] else { continue }
            #expect(detected.bytes == bytes, "L\(level): detected \(detected.bytes) bytes, sysfs \(bytes)")
        }
    }
}
