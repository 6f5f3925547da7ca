/// Where one tensor lives in a GGUF file and what it holds.
public struct GGUFTensorInfo: Equatable, Sendable {
    /// The tensor's name in llama.cpp's scheme, e.g. `blk.0.attn_q.weight`.
    public let name: String
    /// The element type.
    public let type: GGUFTensorType
    /// The extents in ggml order: `dimensions[0]` is the innermost (a row of a matrix).
    public let dimensions: [Int]
    /// The byte range of the tensor's data, relative to the start of the data section.
    public let dataRange: Range<Int>

    /// The extents outermost first, as PyTorch and safetensors write them (`[out, in]` for a matrix).
    public var shape: [Int] { dimensions.reversed() }
    /// The number of elements.
    public var elementCount: Int { dimensions.reduce(1, *) }
}

/// The parsed and validated header of a GGUF file (versions 2 and 3, little-endian).
///
/// Layout: the magic `GGUF`, a `uint32` version, `uint64` tensor and metadata counts, the metadata key-value
/// pairs, one record per tensor (name, dimension count, dimensions, type, offset), then the data section at the
/// next multiple of `general.alignment` (default 32). Every count, length and offset is checked against the file
/// before it is used, so a truncated or lying header gives an error naming the field instead of a crash or a
/// huge allocation.
struct GGUFHeader {
    /// The default alignment of the data section and of each tensor's offset.
    static let defaultAlignment = 32
    /// Arrays nested deeper than this are refused (llama.cpp writes none nested at all).
    static let maximumArrayDepth = 4
    /// Dimensions per tensor (ggml's `GGML_MAX_DIMS`).
    static let maximumDimensions = 4

    let version: UInt32
    /// Metadata in file order.
    let metadata: [(key: String, value: GGUFValue)]
    /// Tensors in file order.
    let tensors: [GGUFTensorInfo]
    let alignment: Int
    /// The offset of the data section from the start of the file.
    let dataStart: Int

    /// Parses the header of a file whose complete bytes are `file`; `path` names it in errors.
    init(file: UnsafeRawBufferPointer, path: String) throws {
        func failure(_ message: String) -> LoadingError { LoadingError("\(path): \(message)") }
        var reader = GGUFByteReader(bytes: file, failure: failure)
        let magic = try reader.read(UInt32.self, "magic")
        guard magic == 0x4655_4747 else {
            throw failure("not a GGUF file: it starts with bytes \(Self.hex(magic)), not 'GGUF'")
        }
        version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            let swapped = version.byteSwapped == 2 || version.byteSwapped == 3 ? " (a big-endian file; only little-endian files are supported)" : ""
            throw failure("GGUF version \(version) is not supported (supported: 2, 3)\(swapped)")
        }
        let tensorCount = try reader.read(UInt64.self, "tensor_count")
        let metadataCount = try reader.read(UInt64.self, "metadata_kv_count")
        // A metadata pair takes at least 8 (key length) + 4 (type) + 1 bytes, a tensor record at least 8 + 4 + 4 + 8.
        guard metadataCount <= UInt64(reader.remaining / 13) else {
            throw failure("metadata_kv_count \(metadataCount) exceeds what the \(reader.remaining) bytes left in the file can hold")
        }
        var metadata: [(key: String, value: GGUFValue)] = []
        var keys: Set<String> = []
        for index in 0..<Int(metadataCount) {
            let key = try reader.readString("metadata pair \(index): key")
            guard keys.insert(key).inserted else { throw failure("metadata key '\(key)' appears twice") }
            let type = try reader.read(UInt32.self, "metadata '\(key)': value type")
            metadata.append((key, try Self.readValue(type: type, reader: &reader, field: "metadata '\(key)'", depth: 0)))
        }
        self.metadata = metadata

        alignment = try Self.alignment(metadata, failure: failure)
        guard tensorCount <= UInt64(reader.remaining / 24) else {
            throw failure("tensor_count \(tensorCount) exceeds what the \(reader.remaining) bytes left in the file can hold")
        }
        var records: [(name: String, type: GGUFTensorType, dimensions: [Int], offset: UInt64)] = []
        var names: Set<String> = []
        for index in 0..<Int(tensorCount) {
            let name = try reader.readString("tensor \(index): name")
            guard names.insert(name).inserted else { throw failure("tensor '\(name)' appears twice") }
            let field = "tensor '\(name)'"
            let dimensionCount = try reader.read(UInt32.self, "\(field): n_dims")
            guard (1...UInt32(Self.maximumDimensions)).contains(dimensionCount) else {
                throw failure("\(field): n_dims \(dimensionCount) is not between 1 and \(Self.maximumDimensions)")
            }
            var dimensions: [Int] = []
            for axis in 0..<Int(dimensionCount) {
                let extent = try reader.read(UInt64.self, "\(field): ne[\(axis)]")
                guard extent <= UInt64(Int32.max) else { throw failure("\(field): ne[\(axis)] \(extent) is too large") }
                dimensions.append(Int(extent))
            }
            let typeID = try reader.read(UInt32.self, "\(field): type")
            guard let type = GGUFTensorType(rawValue: typeID) else {
                let known = GGUFTensorType.allCases.map(\.name).joined(separator: ", ")
                throw failure("\(field): tensor type \(GGUFTensorType.describe(id: typeID)) is not supported (supported: \(known))")
            }
            records.append((name, type, dimensions, try reader.read(UInt64.self, "\(field): offset")))
        }
        reader.align(to: alignment)
        dataStart = reader.position
        let dataSize = file.count - dataStart
        let alignment = alignment
        let tensors = try records.map { record in
            try Self.tensorInfo(record, alignment: alignment, dataSize: dataSize) { failure("tensor '\(record.name)': \($0)") }
        }
        try Self.checkNoOverlap(tensors, failure: failure)
        self.tensors = tensors
    }

    /// `general.alignment`, checked to be a power of two, or the default.
    private static func alignment(_ metadata: [(key: String, value: GGUFValue)], failure: (String) -> LoadingError) throws -> Int {
        guard let value = metadata.first(where: { $0.key == "general.alignment" })?.value else { return defaultAlignment }
        guard case .uint32(let alignment) = value else {
            throw failure("metadata 'general.alignment' must be a uint32, found \(value.typeName)")
        }
        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= 1 << 20 else {
            throw failure("metadata 'general.alignment' \(alignment) is not a power of two up to 2^20")
        }
        return Int(alignment)
    }

    private static func readValue(type: UInt32, reader: inout GGUFByteReader, field: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try reader.read(UInt8.self, field))
        case 1: return .int8(try reader.read(Int8.self, field))
        case 2: return .uint16(try reader.read(UInt16.self, field))
        case 3: return .int16(try reader.read(Int16.self, field))
        case 4: return .uint32(try reader.read(UInt32.self, field))
        case 5: return .int32(try reader.read(Int32.self, field))
        case 6: return .float32(Float(bitPattern: try reader.read(UInt32.self, field)))
        case 7:
            let byte = try reader.read(UInt8.self, field)
            guard byte <= 1 else { throw reader.failure("\(field): bool byte \(byte) is neither 0 nor 1") }
            return .bool(byte == 1)
        case 8: return .string(try reader.readString(field))
        case 9:
            guard depth < maximumArrayDepth else {
                throw reader.failure("\(field): arrays nested more than \(maximumArrayDepth) deep")
            }
            let elementType = try reader.read(UInt32.self, "\(field): array element type")
            let minimumSize = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8, 11: 8, 12: 8][Int(elementType)]
            guard let minimumSize else {
                throw reader.failure("\(field): unknown array element type \(elementType) (known: 0 to 12)")
            }
            let count = try reader.readCount("\(field): array length", minimumElementSize: minimumSize)
            var elements: [GGUFValue] = []
            elements.reserveCapacity(count)
            for index in 0..<count {
                elements.append(try readValue(type: elementType, reader: &reader, field: "\(field)[\(index)]", depth: depth + 1))
            }
            return .array(elements)
        case 10: return .uint64(try reader.read(UInt64.self, field))
        case 11: return .int64(try reader.read(Int64.self, field))
        case 12: return .float64(Double(bitPattern: try reader.read(UInt64.self, field)))
        default:
            throw reader.failure("\(field): unknown value type \(type) (known: 0 to 12)")
        }
    }

    private static func tensorInfo(
        _ record: (name: String, type: GGUFTensorType, dimensions: [Int], offset: UInt64), alignment: Int, dataSize: Int,
        failure: (String) -> LoadingError
    ) throws -> GGUFTensorInfo {
        let (type, dimensions) = (record.type, record.dimensions)
        guard dimensions[0] % type.blockSize == 0 else {
            throw failure("ne[0] \(dimensions[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
        }
        var byteCount = dimensions[0] / type.blockSize * type.bytesPerBlock
        for extent in dimensions.dropFirst() {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw failure("\(type.name) \(dimensions) is too large") }
            byteCount = product
        }
        guard record.offset % UInt64(alignment) == 0 else {
            throw failure("offset \(record.offset) is not a multiple of the alignment \(alignment)")
        }
        guard record.offset <= UInt64(dataSize), UInt64(byteCount) <= UInt64(dataSize) - record.offset else {
            throw failure("\(type.name) \(dimensions) needs \(byteCount) bytes at offset \(record.offset), past the end of the \(dataSize)-byte data section")
        }
        let start = Int(record.offset)
        return GGUFTensorInfo(name: record.name, type: type, dimensions: dimensions, dataRange: start..<(start + byteCount))
    }

    private static func checkNoOverlap(_ tensors: [GGUFTensorInfo], failure: (String) -> LoadingError) throws {
        let ordered = tensors.filter { !$0.dataRange.isEmpty }.sorted { ($0.dataRange.lowerBound, $0.name) < ($1.dataRange.lowerBound, $1.name) }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where next.dataRange.lowerBound < previous.dataRange.upperBound {
            throw failure("tensors '\(previous.name)' (bytes \(previous.dataRange)) and '\(next.name)' (bytes \(next.dataRange)) overlap")
        }
    }

    private static func hex(_ value: UInt32) -> String {
        withUnsafeBytes(of: value.littleEndian) { bytes in
            bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
        }
    }
}
