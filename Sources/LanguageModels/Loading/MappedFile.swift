#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A read-only memory mapping of a whole file; unmapped when the last reference goes away.
///
/// Pages are read from disk only when touched, so opening a multi-gigabyte checkpoint is instant and
/// reading one tensor touches only that tensor's bytes.
final class MappedFile: @unchecked Sendable {
    let url: URL
    let bytes: UnsafeRawBufferPointer

    /// Maps `url`, whose size must be at least `minimumSize` bytes (an empty file cannot be mapped).
    init(url: URL, minimumSize: Int, tooSmall: (Int) -> LoadingError) throws {
        self.url = url
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else {
            throw LoadingError("\(url.path): cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw LoadingError("\(url.path): cannot read file size: \(String(cString: strerror(errno)))")
        }
        let size = Int(status.st_size)
        guard size >= minimumSize else { throw tooSmall(size) }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw LoadingError("\(url.path): cannot memory-map: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    /// Drops this process's resident pages of a byte range (whole pages only). The mapping stays valid: a
    /// page touched again is read back from the file. Called once a tensor has been copied out, so that a
    /// loaded checkpoint does not stay resident twice (as mapped bytes and as converted `Float`s).
    func releasePages(_ range: Range<Int>) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page, end = range.upperBound / page * page
        guard page > 0, end > start, let base = bytes.baseAddress else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    }
}
