#pragma once
// The C library allocator's policy for large blocks (glibc mallopt), for a process that reuses large tensors.

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// Keeps freed large blocks in the heap for reuse: no mmap for malloc (M_MMAP_MAX 0) and free memory at the top
// of the heap returned to the system only above `retained_bytes` (M_TRIM_THRESHOLD). Returns 1 when applied,
// 0 when the C library has no such options (not glibc) or refused them.
int ck_allocator_keep_large_blocks(size_t retained_bytes);

#ifdef __cplusplus
}
#endif
