// The allocator policy (see allocator.h).

#include "allocator.h"

#include <limits.h>

#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif

int ck_allocator_keep_large_blocks(size_t retained_bytes) {
#if defined(__GLIBC__) && defined(M_MMAP_MAX) && defined(M_TRIM_THRESHOLD)
    int threshold = retained_bytes > (size_t)INT_MAX ? INT_MAX : (int)retained_bytes;
    return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, threshold) == 1;
#else
    (void)retained_bytes;
    return 0;
#endif
}
