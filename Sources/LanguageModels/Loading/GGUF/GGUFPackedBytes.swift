/// The bytes of a ``GGUFMatrix``: borrowed from a memory-mapped file (kept mapped while this object lives) or an
/// allocation of their own (a copy, for rows reordered at load or matrices built in memory).
///
/// Immutable once made; the bytes never move, so pointers into them stay valid as long as this object does.
final class GGUFPackedBytes: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    /// What keeps borrowed bytes valid (the mapping); nil for an own allocation.
    private let owner: AnyObject?
    /// The own allocation, deallocated with this object; nil when borrowed.
    private let allocation: UnsafeMutableRawPointer?

    /// Reads `bytes` where they are; `owner` must keep them valid and unchanged while it lives.
    init(borrowing bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        self.bytes = bytes
        self.owner = owner
        allocation = nil
    }

    /// A copy of `count` bytes written by `fill` into a fresh 64-byte-aligned allocation.
    init(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        let allocation = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(count, 1), alignment: 64)
        let filled = UnsafeMutableRawBufferPointer(rebasing: allocation[0..<count])
        fill(filled)
        bytes = UnsafeRawBufferPointer(filled)
        owner = nil
        self.allocation = allocation.baseAddress
    }

    /// Whether the bytes are borrowed (read in place) rather than an own allocation.
    var isBorrowed: Bool { owner != nil }

    deinit {
        allocation?.deallocate()
    }
}
