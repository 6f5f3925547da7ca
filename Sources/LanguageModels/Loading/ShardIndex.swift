import Foundation

/// The `model.safetensors.index.json` of a sharded checkpoint: which shard file holds each tensor.
///
/// ```json
/// {"metadata": {"total_size": 123}, "weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors"}}
/// ```
struct ShardIndex: Decodable {
    static let fileName = "model.safetensors.index.json"

    /// Tensor name -> shard file name (relative to the index's directory).
    let weightMap: [String: String]

    enum CodingKeys: String, CodingKey {
        case weightMap = "weight_map"
    }

    /// Reads and decodes the index at `url`.
    init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw LoadingError("\(url.path): cannot read: \(error.localizedDescription)")
        }
        do {
            self = try JSONDecoder().decode(ShardIndex.self, from: data)
        } catch let error as DecodingError {
            throw LoadingError("\(url.path): \(error.fieldDescription)")
        }
        for (tensor, shard) in weightMap where shard.contains("/") || shard == ".." {
            throw LoadingError("\(url.path): weight_map entry for '\(tensor)' names '\(shard)', which is not a file in the checkpoint directory")
        }
    }
}
