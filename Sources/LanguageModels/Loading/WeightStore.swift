import Foundation
import Tensors

/// The tensors of a checkpoint directory, looked up by name across one or more safetensors files.
///
/// The directory may hold `model.safetensors.index.json` (a sharded checkpoint: its `weight_map` says which
/// shard holds each tensor; every shard must exist and hold the tensors mapped to it), `model.safetensors`,
/// or, failing both, any `*.safetensors` files (a name may then appear in only one of them).
///
/// ```swift
/// let weights = try WeightStore(directory: modelDirectory)
/// let upProjection = try weights.tensor(named: "model.layers.0.mlp.up_proj.weight", shape: [128, 64])
/// ```
public final class WeightStore: @unchecked Sendable {
    /// The checkpoint directory.
    public let directory: URL
    /// The safetensors files, in shard order.
    public let files: [SafetensorsFile]
    /// A description of where tensors were searched for, used in error messages.
    private let searched: String
    private let locations: [String: SafetensorsFile]
    /// The arithmetic of products with the bfloat16 matrices this store hands out (``halfPrecisionMatrix(named:)``).
    public var computePrecision: ComputePrecision = .float32

    /// Opens every safetensors file of a checkpoint directory and validates their headers (and the shard index).
    public init(directory: URL) throws {
        self.directory = directory
        let fileManager = FileManager.default
        let indexURL = directory.appendingPathComponent(ShardIndex.fileName)
        let singleURL = directory.appendingPathComponent("model.safetensors")
        if fileManager.fileExists(atPath: indexURL.path) {
            let index = try ShardIndex(contentsOf: indexURL)
            var shards: [String: SafetensorsFile] = [:]
            var locations: [String: SafetensorsFile] = [:]
            for (name, shardName) in index.weightMap.sorted(by: { $0.key < $1.key }) {
                if shards[shardName] == nil {
                    let shardURL = directory.appendingPathComponent(shardName)
                    guard fileManager.fileExists(atPath: shardURL.path) else {
                        throw LoadingError("\(indexURL.path): shard '\(shardName)' (holding '\(name)') is missing: no file at \(shardURL.path)")
                    }
                    shards[shardName] = try SafetensorsFile(contentsOf: shardURL)
                }
                let shard = shards[shardName]!
                guard shard.tensorInfos[name] != nil else {
                    throw LoadingError("\(indexURL.path): weight_map puts '\(name)' in shard '\(shardName)', but \(shard.url.path) has no tensor of that name")
                }
                locations[name] = shard
            }
            files = shards.keys.sorted().map { shards[$0]! }
            self.locations = locations
            searched = "\(ShardIndex.fileName) weight_map over \(files.count) shard(s): \(shards.keys.sorted().joined(separator: ", "))"
        } else {
            let urls: [URL]
            if fileManager.fileExists(atPath: singleURL.path) {
                urls = [singleURL]
            } else {
                let contents = (try? fileManager.contentsOfDirectory(atPath: directory.path)) ?? []
                urls = contents.filter { $0.hasSuffix(".safetensors") }.sorted().map { directory.appendingPathComponent($0) }
            }
            guard !urls.isEmpty else {
                throw LoadingError("\(directory.path): no checkpoint found (looked for \(ShardIndex.fileName), model.safetensors and *.safetensors)")
            }
            files = try urls.map { try SafetensorsFile(contentsOf: $0) }
            var locations: [String: SafetensorsFile] = [:]
            for file in files {
                for name in file.tensorInfos.keys {
                    if let earlier = locations[name] {
                        throw LoadingError("\(directory.path): tensor '\(name)' appears in both \(earlier.url.lastPathComponent) and \(file.url.lastPathComponent)")
                    }
                    locations[name] = file
                }
            }
            self.locations = locations
            searched = urls.map(\.lastPathComponent).joined(separator: ", ")
        }
    }

    /// Every tensor name, sorted.
    public var tensorNames: [String] { locations.keys.sorted() }

    /// Whether the checkpoint has a tensor of this name.
    public func has(_ name: String) -> Bool { locations[name] != nil }

    /// The description of one tensor (dtype, shape, location).
    public func info(named name: String) throws -> SafetensorsTensorInfo {
        try file(holding: name).info(named: name)
    }

    /// The stored shape of a tensor.
    public func shape(of name: String) throws -> [Int] { try info(named: name).shape }

    /// The stored element type of a tensor.
    public func dtype(of name: String) throws -> SafetensorsDType { try info(named: name).dtype }

    /// The floating-point dtype holding the most bytes of the checkpoint (e.g. `.bfloat16` for a bf16
    /// export, `.float16` for the scales of an fp16 MLX model); nil when it has no floating-point tensor.
    public var dtype: SafetensorsDType? {
        var bytes: [SafetensorsDType: Int] = [:]
        for (name, file) in locations {
            let info = file.tensorInfos[name]!
            if info.dtype.isFloatingPoint { bytes[info.dtype, default: 0] += info.dataOffsets.count }
        }
        return bytes.max { ($0.value, $0.key.rawValue) < ($1.value, $1.key.rawValue) }?.key
    }

    /// Whether some weight matrix is bfloat16 or float16 (and so kept 16-bit, computing in ``computePrecision``);
    /// the scales and biases of MLX quantized weights and the block scales of FP8 ones do not count.
    public var hasHalfPrecisionMatrix: Bool {
        locations.contains { name, file in
            let info = file.tensorInfos[name]!
            return info.dtype.isFloatingPoint && info.dtype.byteCount == 2 && info.shape.count == 2
                && !name.hasSuffix(".scales") && !name.hasSuffix(".biases") && !name.hasSuffix(".weight_scale_inv")
        }
    }

    /// The bytes a model built from this checkpoint keeps in memory for its weights: bfloat16 and float16
    /// matrices and packed integer tensors as stored (they stay so, read in place), every other floating-point
    /// tensor at 4 bytes per element (converted to `Float`).
    public var residentByteCount: Int {
        locations.reduce(0) { total, entry in
            let info = entry.value.tensorInfos[entry.key]!
            let keptAsStored = !info.dtype.isFloatingPoint || (info.dtype.byteCount == 2 && info.shape.count == 2)
            return total + (keptAsStored ? info.dataOffsets.count : 4 * info.elementCount)
        }
    }

    /// A floating-point tensor as a `Float` ``Tensor``; throws naming the tensor and the files searched.
    public func tensor(named name: String) throws -> Tensor {
        try file(holding: name).tensor(named: name)
    }

    /// A floating-point tensor, checked to have the expected shape.
    ///
    /// Throws e.g. `model.layers.0.mlp.up_proj.weight: expected shape [64, 16], found [16, 64] (in ...)`.
    public func tensor(named name: String, shape: [Int]) throws -> Tensor {
        try checkShape(of: name, expected: shape)
        return try tensor(named: name)
    }

    /// The elements of a floating-point tensor converted to `Float`.
    public func floatScalars(named name: String) throws -> [Float] {
        try file(holding: name).floatScalars(named: name)
    }

    /// A rank-2 bfloat16 or float16 tensor kept in its format (read in place from the mapped file), computing in
    /// ``computePrecision``; nil when the tensor has another dtype.
    public func halfPrecisionMatrix(named name: String) throws -> HalfPrecisionMatrix? {
        var matrix = try file(holding: name).halfPrecisionMatrix(named: name)
        matrix?.computePrecision = computePrecision
        return matrix
    }

    /// The raw elements of a `U32` tensor (packed quantized weights).
    public func uint32Scalars(named name: String) throws -> [UInt32] {
        try file(holding: name).uint32Scalars(named: name)
    }

    /// Throws unless the tensor exists and has exactly the expected shape.
    public func checkShape(of name: String, expected: [Int]) throws {
        let found = try info(named: name).shape
        guard found == expected else {
            throw LoadingError("\(name): expected shape \(expected), found \(found) (in \(locations[name]!.url.path))")
        }
    }

    /// The file holding `name`, or an error naming the tensor, the files searched and similar names.
    public func file(holding name: String) throws -> SafetensorsFile {
        if let file = locations[name] { return file }
        let similar = similarNames(to: name)
        let hint = similar.isEmpty ? "" : "; similar names: \(similar.joined(separator: ", "))"
        throw LoadingError("tensor '\(name)' not found in checkpoint \(directory.path) (searched \(searched))\(hint)")
    }

    /// Up to three names sharing the longest run of trailing dotted components (at least two) with `name`.
    private func similarNames(to name: String) -> [String] {
        let wanted = Array(name.split(separator: ".").reversed())
        func sharedSuffix(_ candidate: String) -> Int {
            zip(wanted, candidate.split(separator: ".").reversed()).prefix { $0 == $1 }.count
        }
        return locations.keys.map { ($0, sharedSuffix($0)) }
            .filter { $0.1 >= 2 }
            .sorted { ($1.1, $0.0) < ($0.1, $1.0) }
            .prefix(3).map(\.0)
    }
}
