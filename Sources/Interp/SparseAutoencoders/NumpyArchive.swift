import Foundation

/// The arrays of a NumPy `.npz` file as `np.savez` writes it: a zip archive of stored (uncompressed) `.npy` members,
/// with zip64 sizes as NumPy always writes them; each array little-endian `<f4` or `<f8` in C order, read as `Float`.
///
/// Gemma Scope ships its SAEs this way (`params.npz`). Every malformed or unsupported part is refused naming the file
/// and the member: compressed members (`np.savez_compressed`), other dtypes, Fortran order.
struct NumpyArchive {
    /// The arrays by name (the member name without `.npy`).
    let arrays: [String: Tensor]

    init(contentsOf url: URL) throws {
        let path = url.path
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw LoadingError("\(path): cannot read: \(error.localizedDescription)")
        }
        func failure(_ message: String) -> LoadingError { LoadingError("\(path): \(message)") }
        let bytes = data
        func integer(_ offset: Int, _ count: Int) throws -> Int {
            guard offset >= 0, offset + count <= bytes.count else { throw failure("truncated zip archive") }
            return (0..<count).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
        }
        // The end of the central directory: its record within the last 64 KiB + 22 bytes, zip64's before it.
        let searchStart = max(0, bytes.count - 65_557)
        guard let end = (searchStart..<max(searchStart, bytes.count - 21)).reversed().first(where: {
            bytes[$0] == 0x50 && bytes[$0 + 1] == 0x4B && bytes[$0 + 2] == 5 && bytes[$0 + 3] == 6
        }) else { throw failure("not a zip archive (no end of central directory): an .npz from np.savez is") }
        var entryCount = try integer(end + 10, 2), directoryOffset = try integer(end + 16, 4)
        if entryCount == 0xFFFF || directoryOffset == 0xFFFF_FFFF, end >= 20, try integer(end - 20, 4) == 0x0706_4B50 {
            let record = try integer(end - 12, 8)
            guard try integer(record, 4) == 0x0606_4B50 else { throw failure("malformed zip64 end of central directory") }
            entryCount = try integer(record + 32, 8)
            directoryOffset = try integer(record + 48, 8)
        }
        var arrays: [String: Tensor] = [:], offset = directoryOffset
        for _ in 0..<entryCount {
            guard try integer(offset, 4) == 0x0201_4B50 else { throw failure("malformed zip central directory") }
            let method = try integer(offset + 10, 2)
            var size = try integer(offset + 20, 4), localOffset = try integer(offset + 42, 4)
            let nameLength = try integer(offset + 28, 2), extraLength = try integer(offset + 30, 2)
            let commentLength = try integer(offset + 32, 2)
            guard offset + 46 + nameLength <= bytes.count else { throw failure("truncated zip archive") }
            let name = String(decoding: bytes[(offset + 46)..<(offset + 46 + nameLength)], as: UTF8.self)
            // zip64 extra field: the 64-bit values of whichever of uncompressed size, compressed size, offset overflowed.
            var extra = offset + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = try integer(extra, 2), length = try integer(extra + 2, 2)
                if id == 1 {
                    var field = extra + 4
                    if try integer(offset + 24, 4) == 0xFFFF_FFFF { size = try integer(field, 8); field += 8 }
                    if try integer(offset + 20, 4) == 0xFFFF_FFFF { field += 8 }
                    if localOffset == 0xFFFF_FFFF { localOffset = try integer(field, 8) }
                }
                extra += 4 + length
            }
            offset = extraEnd + commentLength
            guard method == 0 else {
                throw failure("member '\(name)' is compressed (method \(method)); only np.savez's stored members are read")
            }
            guard try integer(localOffset, 4) == 0x0403_4B50 else { throw failure("member '\(name)': malformed local header") }
            let start = localOffset + 30 + (try integer(localOffset + 26, 2)) + (try integer(localOffset + 28, 2))
            guard start + size <= bytes.count else { throw failure("member '\(name)' is truncated") }
            let arrayName = name.hasSuffix(".npy") ? String(name.dropLast(4)) : name
            arrays[arrayName] = try Self.array(bytes[start..<(start + size)], failure: { failure("member '\(name)': \($0)") })
        }
        self.arrays = arrays
    }

    /// One `.npy` array: magic, version, header dict (`descr`, `fortran_order`, `shape`), then the data.
    private static func array(_ bytes: Data, failure: (String) -> LoadingError) throws -> Tensor {
        let base = bytes.startIndex
        guard bytes.count >= 10, Array(bytes[base..<(base + 6)]) == [0x93] + Array("NUMPY".utf8) else {
            throw failure("not an .npy array")
        }
        let major = Int(bytes[base + 6])
        let headerLength = major == 1 ? Int(bytes[base + 8]) | Int(bytes[base + 9]) << 8
            : (0..<4).reduce(0) { $0 | Int(bytes[base + 8 + $1]) << (8 * $1) }
        let headerStart = base + (major == 1 ? 10 : 12)
        guard [1, 2, 3].contains(major), headerStart + headerLength <= bytes.endIndex else { throw failure("malformed .npy header") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        func value(_ key: String) -> Substring? {
            guard let range = header.range(of: "'\(key)':") else { return nil }
            return header[range.upperBound...].drop(while: { $0 == " " })
        }
        guard let descr = value("descr")?.dropFirst().prefix(while: { $0 != "'" }) else { throw failure("header has no 'descr'") }
        guard value("fortran_order")?.hasPrefix("False") == true else { throw failure("Fortran-order arrays are not supported") }
        guard let shapeText = value("shape"), shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else {
            throw failure("header has no 'shape'")
        }
        let shape = try shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { text -> Int in
                guard let size = Int(text), size >= 0 else { throw failure("shape entry '\(text)' is not a size") }
                return size
            }
        let count = shape.reduce(1, *), data = bytes[(headerStart + headerLength)...]
        let width: Int
        switch descr {
        case "<f4": width = 4
        case "<f8": width = 8
        default: throw failure("dtype '\(descr)' is not supported (float32 '<f4' or float64 '<f8')")
        }
        guard data.count == count * width else {
            throw failure("holds \(data.count) bytes of data, but shape \(shape) of '\(descr)' needs \(count * width)")
        }
        let scalars: [Float] = data.withUnsafeBytes { raw in
            (0..<count).map { i in
                width == 4 ? Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    : Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        }
        return Tensor(shape: shape, scalars: scalars)
    }
}
