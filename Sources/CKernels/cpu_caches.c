// Data cache sizes from cpuid, sysfs, sysconf or sysctl, validated level by level (see cpu_caches.h).
//
// Sources disagree in practice: on an AMD EPYC virtual machine, glibc's sysconf reported a 320 MiB L3 (from the
// legacy leaf 0x80000006) where cpuid leaf 0x8000001D and sysfs give the 32 MiB shared by the CCX's CPUs. So
// the deterministic cache-descriptor leaves come first, and each level takes the first plausible value.

#include "cpu_caches.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define CK_CACHES_X86 1
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

enum { KIB = 1024, MIB = 1024 * 1024 };

/// Whether `level` (1, 2 or 3) of `bytes` shared by `sharing` CPUs is plausible given the levels below it.
static int plausible(int level, ck_cache_level c, const ck_cpu_caches *below) {
    if (c.bytes <= 0 || c.sharing < 1) return 0;
    switch (level) {
    case 1: return c.bytes >= 4 * KIB && c.bytes <= 4 * MIB;
    case 2: return c.bytes >= 32 * KIB && c.bytes <= 256L * MIB && c.bytes >= below->l1d.bytes;
    default: return c.bytes / c.sharing <= 256L * MIB && c.bytes >= below->l2.bytes;
    }
}

/// Fills the levels of `found` still empty with the plausible ones of `candidate`, naming `source` if it gave
/// the L1d.
static void merge(ck_cpu_caches *found, ck_cpu_caches candidate, const char *source) {
    if (!found->l1d.bytes && plausible(1, candidate.l1d, found)) {
        found->l1d = candidate.l1d;
        found->source = source;
    }
    if (!found->l2.bytes && found->l1d.bytes && plausible(2, candidate.l2, found)) found->l2 = candidate.l2;
    if (!found->l3.bytes && found->l2.bytes && plausible(3, candidate.l3, found)) found->l3 = candidate.l3;
}

#ifdef CK_CACHES_X86
/// The data and unified caches described by the deterministic cache parameters leaf `leaf` (4 on Intel,
/// 0x8000001D on AMD and Hygon: the same layout).
static ck_cpu_caches from_cpuid_leaf(unsigned leaf) {
    ck_cpu_caches caches = {{0, 0}, {0, 0}, {0, 0}, NULL};
    for (unsigned index = 0; index < 16; index++) {
        unsigned a, b, c, d;
        __cpuid_count(leaf, index, a, b, c, d);
        unsigned type = a & 31, level = (a >> 5) & 7;
        if (type == 0) break;
        if (type != 1 && type != 3) continue;  // 1 data, 2 instruction, 3 unified
        ck_cache_level found = {
            (long)(((b >> 22) & 0x3FF) + 1) * (((b >> 12) & 0x3FF) + 1) * ((b & 0xFFF) + 1) * ((long)c + 1),
            (long)((a >> 14) & 0xFFF) + 1,
        };
        if (level == 1) caches.l1d = found;
        else if (level == 2) caches.l2 = found;
        else if (level == 3) caches.l3 = found;
    }
    return caches;
}

static ck_cpu_caches from_cpuid(void) {
    ck_cpu_caches none = {{0, 0}, {0, 0}, {0, 0}, NULL};
    unsigned max_leaf, b, c, d;
    if (!__get_cpuid(0, &max_leaf, &b, &c, &d)) return none;
    char vendor[13];
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
    vendor[12] = 0;
    if (strcmp(vendor, "AuthenticAMD") == 0 || strcmp(vendor, "HygonGenuine") == 0) {
        unsigned max_extended = __get_cpuid_max(0x80000000, NULL), a;
        if (max_extended < 0x8000001D || !__get_cpuid(0x80000001, &a, &b, &c, &d) || !(c & (1u << 22))) return none;
        return from_cpuid_leaf(0x8000001D);  // needs the topology extensions (ECX bit 22)
    }
    return max_leaf >= 4 ? from_cpuid_leaf(4) : none;
}
#endif

#if defined(__linux__)
/// The number of CPUs in a sysfs CPU list such as "0-3,8-11".
static long cpu_list_count(const char *list) {
    long count = 0;
    while (*list) {
        long first, last;
        int used = 0;
        if (sscanf(list, "%ld-%ld%n", &first, &last, &used) == 2 && used > 0) count += last - first + 1;
        else if (sscanf(list, "%ld%n", &first, &used) == 1 && used > 0) count += 1;
        else break;
        list += used;
        if (*list == ',') list++;
        else break;
    }
    return count;
}

/// The first line of `/sys/devices/system/cpu/cpu0/cache/index<index>/<name>` into `text`, or 0.
static int read_cache_file(int index, const char *name, char *text, int size) {
    char path[96];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", index, name);
    FILE *file = fopen(path, "r");
    if (!file) return 0;
    int ok = fgets(text, size, file) != NULL;
    fclose(file);
    return ok;
}

static ck_cpu_caches from_sysfs(void) {
    ck_cpu_caches caches = {{0, 0}, {0, 0}, {0, 0}, NULL};
    for (int index = 0; index < 16; index++) {
        char level_text[16], type[32], size[32], shared[256];
        if (!read_cache_file(index, "level", level_text, sizeof level_text)) break;
        if (!read_cache_file(index, "type", type, sizeof type) || strncmp(type, "Instruction", 11) == 0) continue;
        if (!read_cache_file(index, "size", size, sizeof size)) continue;
        long value = 0;
        char unit = 0;
        if (sscanf(size, "%ld%c", &value, &unit) < 1) continue;
        long bytes = unit == 'K' ? value * KIB : unit == 'M' ? value * MIB : unit == 'G' ? value * 1024L * MIB : value;
        long sharing = read_cache_file(index, "shared_cpu_list", shared, sizeof shared) ? cpu_list_count(shared) : 1;
        ck_cache_level found = {bytes, sharing > 0 ? sharing : 1};
        switch (atoi(level_text)) {
        case 1: caches.l1d = found; break;
        case 2: caches.l2 = found; break;
        case 3: caches.l3 = found; break;
        default: break;
        }
    }
    return caches;
}
#endif

#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
static ck_cpu_caches from_sysconf(void) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    ck_cpu_caches caches = {
        {sysconf(_SC_LEVEL1_DCACHE_SIZE), 1}, {sysconf(_SC_LEVEL2_CACHE_SIZE), 1},
        {sysconf(_SC_LEVEL3_CACHE_SIZE), cpus > 0 ? cpus : 1}, NULL,
    };
    return caches;
}
#endif

#if defined(__APPLE__)
static long sysctl_long(const char *name) {
    long long value = 0;
    size_t size = sizeof value;
    return sysctlbyname(name, &value, &size, NULL, 0) == 0 ? (long)value : 0;
}

/// The performance cores' caches (perflevel0; the L2 is shared by a cluster of cores).
static ck_cpu_caches from_sysctl(void) {
    long l2_sharing = sysctl_long("hw.perflevel0.cpusperl2");
    ck_cpu_caches caches = {
        {sysctl_long("hw.perflevel0.l1dcachesize"), 1},
        {sysctl_long("hw.perflevel0.l2cachesize"), l2_sharing > 0 ? l2_sharing : 1},
        {sysctl_long("hw.l3cachesize"), 1}, NULL,
    };
    return caches;
}
#endif

static ck_cpu_caches detected;
static pthread_once_t detected_once = PTHREAD_ONCE_INIT;

static void detect(void) {
    ck_cpu_caches found = {{0, 0}, {0, 0}, {0, 0}, "defaults"};
#ifdef CK_CACHES_X86
    merge(&found, from_cpuid(), "cpuid");
#endif
#if defined(__linux__)
    merge(&found, from_sysfs(), "sysfs");
#endif
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
    merge(&found, from_sysconf(), "sysconf");
#endif
#if defined(__APPLE__)
    merge(&found, from_sysctl(), "sysctl");
#endif
    if (found.l2.bytes && !found.l3.bytes) found.l3 = found.l2;  // no L3
    ck_cpu_caches defaults = {{32 * KIB, 1}, {512 * KIB, 1}, {4 * MIB, 1}, NULL};
    merge(&found, defaults, "defaults");
    detected = found;
}

const ck_cpu_caches *ck_cpu_caches_detected(void) {
    pthread_once(&detected_once, detect);
    return &detected;
}

long ck_cache_share(ck_cache_level level) { return level.bytes / (level.sharing > 0 ? level.sharing : 1); }
