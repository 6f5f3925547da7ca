/// A cursor over the bytes of a GGUF file that checks every read against the end of the file.
///
/// Counts read from the file are never trusted: a read of `n` bytes fails unless `n` bytes remain, and
/// callers check a declared element count against the bytes left before they allocate anything.
struct GGUFByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var position = 0
    /// Builds the error for a problem at the current place in the file (the caller adds the file name).
    let failure: (String) -> LoadingError

    init(bytes: UnsafeRawBufferPointer, failure: @escaping (String) -> LoadingError) {
        self.bytes = bytes
        self.failure = failure
    }

    /// Bytes left after the cursor.
    var remaining: Int { bytes.count - position }

    /// Reads a little-endian fixed-width integer; `what` names it in the error when the file ends first.
    mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw failure("\(what()): the file ends at byte \(bytes.count), \(size) bytes needed at offset \(position)")
        }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += size
        return value
    }

    /// Reads a length as a non-negative `Int` that fits in the bytes left when each element needs at least
    /// `minimumElementSize` bytes.
    mutating func readCount(_ what: @autoclosure () -> String, minimumElementSize: Int) throws -> Int {
        let declared = try read(UInt64.self, what())
        guard declared <= UInt64(remaining / Swift.max(minimumElementSize, 1)) else {
            throw failure("\(what()) \(declared) exceeds what the \(remaining) bytes left in the file can hold")
        }
        return Int(declared)
    }

    /// Reads a GGUF string (a `uint64` byte length and UTF-8 bytes).
    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let length = try readCount("\(what()): string length", minimumElementSize: 1)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw failure("\(what()): the \(length)-byte string at offset \(position) is not valid UTF-8")
        }
        position += length
        return string
    }

    /// Moves the cursor to the next multiple of `alignment` (a power of two), or to the end of the file.
    mutating func align(to alignment: Int) {
        position = Swift.min(bytes.count, (position + alignment - 1) / alignment * alignment)
    }
}
