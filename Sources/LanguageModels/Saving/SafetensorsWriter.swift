import Foundation
import Tensors

/// Builds a `.safetensors` file: tensors stored as F32, F16 or BF16 plus an optional `__metadata__` map.
///
/// The JSON header is padded with spaces so that the data section starts at a multiple of 8 bytes (as the
/// reference implementation does); tensors are laid out in the order they were added, without gaps.
///
/// ```swift
/// var writer = SafetensorsWriter(metadata: ["format": "pt"])
/// writer.add(embedding, named: "transformer.wte.weight")
/// writer.add(gain, named: "transformer.ln_f.weight", as: .bfloat16)
/// try writer.write(to: directory.appendingPathComponent("model.safetensors"))
/// ```
public struct SafetensorsWriter {
    private struct Entry {
        let name: String
        let dtype: SafetensorsDType
        let shape: [Int]
        let bytes: Data
    }

    /// The `__metadata__` string map (transformers requires `"format": "pt"` when a map is present).
    public var metadata: [String: String]
    private var entries: [Entry] = []
    private var names: Set<String> = []

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// The names added so far, in file order.
    public var tensorNames: [String] { entries.map(\.name) }

    /// Adds a tensor, converted to `dtype` (`.float32`, `.float16` or `.bfloat16`; narrowing rounds to
    /// nearest even). Each name may be added once.
    public mutating func add(_ tensor: Tensor, named name: String, as dtype: SafetensorsDType = .float32) {
        precondition(name != "__metadata__", "'__metadata__' is reserved in safetensors headers")
        precondition(!names.contains(name), "tensor '\(name)' was already added")
        names.insert(name)
        let bytes: Data
        switch dtype {
        case .float32: bytes = Self.littleEndianBytes(tensor.scalars.map(\.bitPattern))
        case .float16: bytes = Self.littleEndianBytes(HalfPrecision.float16Bits(from: tensor.scalars))
        case .bfloat16: bytes = Self.littleEndianBytes(HalfPrecision.bfloat16Bits(from: tensor.scalars))
        default: preconditionFailure("SafetensorsWriter stores F32, F16 or BF16, not \(dtype.rawValue)")
        }
        entries.append(Entry(name: name, dtype: dtype, shape: tensor.shape, bytes: bytes))
    }

    /// The complete file: header size, padded JSON header, data.
    public func serialized() -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for entry in entries {
            header[entry.name] = ["dtype": entry.dtype.rawValue, "shape": entry.shape,
                                  "data_offsets": [offset, offset + entry.bytes.count]] as [String: Any]
            offset += entry.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        // Serializing dictionaries of strings, integers and arrays cannot fail.
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var file = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        for entry in entries { file.append(entry.bytes) }
        return file
    }

    /// Writes the file atomically (a temporary file in the same directory, then a rename).
    public func write(to url: URL) throws {
        try AtomicFile.write(serialized(), to: url)
    }

    private static func littleEndianBytes<Word: FixedWidthInteger>(_ words: [Word]) -> Data {
        words.map(\.littleEndian).withUnsafeBytes { Data($0) }
    }
}
