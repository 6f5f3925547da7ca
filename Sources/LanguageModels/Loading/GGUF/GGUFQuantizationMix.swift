import Foundation

/// How many tensors and bytes of a GGUF file each tensor type holds (llama.cpp's `Q4_K_M` files, for example,
/// mix Q4_K, Q6_K and F32).
public struct GGUFQuantizationMix: Equatable, Sendable {
    /// One tensor type's share of the file.
    public struct Share: Equatable, Sendable {
        public let type: GGUFTensorType
        public let tensorCount: Int
        public let byteCount: Int
    }

    /// The types present, most bytes first.
    public let shares: [Share]

    /// Counts the tensors of `tensors` by type.
    public init(_ tensors: some Sequence<GGUFTensorInfo>) {
        var counts: [GGUFTensorType: (tensors: Int, bytes: Int)] = [:]
        for info in tensors { counts[info.type, default: (0, 0)].tensors += 1; counts[info.type, default: (0, 0)].bytes += info.dataRange.count }
        shares = counts.map { Share(type: $0.key, tensorCount: $0.value.tensors, byteCount: $0.value.bytes) }
            .sorted { ($0.byteCount, $1.type.rawValue) > ($1.byteCount, $0.type.rawValue) }
    }

    /// The type holding the most bytes, nil for a file without tensors.
    public var dominantType: GGUFTensorType? { shares.first?.type }

    /// One line per type, e.g. `Q4_K 193 tensors 402.10 MB (82.0%)`.
    public var summary: String {
        let total = Swift.max(1, shares.reduce(0) { $0 + $1.byteCount })
        return shares.map { share in
            share.type.name + String(format: " %d tensors %.2f MB (%.1f%%)", share.tensorCount,
                   Double(share.byteCount) / 1_000_000, 100 * Double(share.byteCount) / Double(total))
        }.joined(separator: ", ")
    }
}

extension GGUFFile {
    /// The tensor types of this file, with their counts and bytes.
    public var quantizationMix: GGUFQuantizationMix { GGUFQuantizationMix(tensorInfos.values) }
}
