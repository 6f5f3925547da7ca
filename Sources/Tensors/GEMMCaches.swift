import CKernels

/// The data caches of this CPU, as the GEMM and quantized-product kernels size their blocks from them.
///
/// Read once, from cpuid (Intel leaf 4, AMD leaf 0x8000001D), else Linux sysfs, else `sysconf` (`sysctl` on Apple
/// systems), else conservative defaults; a level whose reported size is implausible comes from the next source.
/// (On an AMD EPYC virtual machine glibc's `sysconf` reported a 320 MiB L3 where cpuid and sysfs give 32 MiB.)
///
/// ```swift
/// CPUCaches.detected.summary   // "L1d 32 KiB, L2 1 MiB, L3 32 MiB shared by 2 CPUs (cpuid)"
/// ```
public struct CPUCaches: Sendable, Equatable {
    /// One cache level.
    public struct Level: Sendable, Equatable {
        /// Bytes of one instance of the cache.
        public let bytes: Int
        /// Logical CPUs sharing one instance (at least 1).
        public let sharingCPUs: Int
        /// The bytes one logical CPU can count on: `bytes / sharingCPUs`.
        public var bytesPerCPU: Int { bytes / sharingCPUs }

        init(_ level: ck_cache_level) {
            bytes = level.bytes
            sharingCPUs = max(level.sharing, 1)
        }
    }

    /// The level 1 data cache.
    public let l1d: Level
    /// The level 2 cache.
    public let l2: Level
    /// The level 3 cache (the L2 again on a CPU without one).
    public let l3: Level
    /// Where the sizes came from: "cpuid", "sysfs", "sysconf", "sysctl" or "defaults".
    public let source: String

    /// The caches of the CPU this process runs on.
    public static var detected: CPUCaches {
        let caches = ck_cpu_caches_detected()!.pointee
        return CPUCaches(l1d: Level(caches.l1d), l2: Level(caches.l2), l3: Level(caches.l3),
                         source: String(cString: caches.source))
    }

    /// For example "L1d 32 KiB, L2 1 MiB, L3 32 MiB shared by 2 CPUs (cpuid)".
    public var summary: String {
        func describe(_ name: String, _ level: Level) -> String {
            let size = level.bytes % (1 << 20) == 0 ? "\(level.bytes >> 20) MiB" : "\(level.bytes >> 10) KiB"
            return "\(name) \(size)" + (level.sharingCPUs > 1 ? " shared by \(level.sharingCPUs) CPUs" : "")
        }
        return [describe("L1d", l1d), describe("L2", l2), describe("L3", l3)].joined(separator: ", ") + " (\(source))"
    }
}
