#pragma once
// The data cache sizes of the CPU, read once at first use: the kernels size their blocks from them.

#ifdef __cplusplus
extern "C" {
#endif

/// One level of data (or unified) cache.
typedef struct {
    /// Bytes of one instance of the cache.
    long bytes;
    /// Logical CPUs sharing one instance (at least 1).
    long sharing;
} ck_cache_level;

/// The data caches of this CPU (level 1 data, 2 and 3), each with its size and the logical CPUs sharing it.
typedef struct {
    ck_cache_level l1d, l2, l3;
    /// Where the sizes came from: "cpuid", "sysfs", "sysconf", "sysctl" or "defaults" (the first source that gave
    /// a plausible L1d; any level a source left out or gave an absurd value for comes from the next one).
    const char *source;
} ck_cpu_caches;

/// This CPU's caches, detected once: cpuid (Intel leaf 4, AMD leaf 0x8000001D), else Linux sysfs
/// (/sys/devices/system/cpu/cpu0/cache), else sysconf (or sysctl on Apple systems), else conservative defaults
/// (32 KiB, 512 KiB, 4 MiB). A level a source leaves out or gives an implausible size for (an L1d outside
/// 4 KiB..4 MiB, an L2 outside 32 KiB..256 MiB or below the L1d, an L3 below the L2 or above 256 MiB per logical
/// CPU sharing it) comes from the next source; a CPU whose L1d and L2 are known without an L3 gets its L2 as L3.
const ck_cpu_caches *ck_cpu_caches_detected(void);

/// Bytes of one instance of `level` per logical CPU sharing it (the share one thread can count on).
long ck_cache_share(ck_cache_level level);

#ifdef __cplusplus
}
#endif
