import CKernels

/// The process's allocator policy for large tensors: an opt-in for programs that run many forward passes.
///
/// glibc serves an allocation above its mmap threshold (adaptive, at most 32 MB) with a fresh `mmap` and unmaps
/// it on `free`, so every forward pass page-faults and zero-fills its largest tensors again: the logits of an
/// 8x128-token batch over GPT-2's vocabulary are 206 MB, 50,000 pages per pass. ``keepLargeBlocks(retaining:)``
/// turns `mmap` off for `malloc` (M_MMAP_MAX 0) and keeps up to `retaining` bytes of free memory at the top of the
/// heap (M_TRIM_THRESHOLD), so the next pass reuses pages that are already mapped. The library never sets it by
/// itself: it changes the whole process, so the program decides (the `interp` CLI does at start-up).
///
/// It covers allocations of the main thread. On other threads glibc serves blocks from heaps of at most 64 MB per
/// thread arena: a larger block is still mapped afresh, and a block that does not fit the arena's current heap goes
/// to a new one, which glibc unmaps whole once it is empty again whatever the trim threshold. Elsewhere than glibc it
/// does nothing.
///
/// ```swift
/// AllocatorPolicy.keepLargeBlocks()   // first thing in main
/// ```
public enum AllocatorPolicy {
    /// Keeps freed large blocks in the heap for reuse, returning free memory at the heap's top to the system only
    /// above `bytes` (default 512 MB). Returns whether the C library applied it (false where it is not glibc).
    @discardableResult
    public static func keepLargeBlocks(retaining bytes: Int = 512 << 20) -> Bool {
        precondition(bytes >= 0, "retained bytes must be non-negative, got \(bytes)")
        return ck_allocator_keep_large_blocks(bytes) == 1
    }
}
