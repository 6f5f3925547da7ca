import Foundation
import Tensors

/// A Hugging Face model directory: its normalized `config.json` and its weights.
///
/// ```swift
/// let checkpoint = try Checkpoint(directory: URL(fileURLWithPath: "models/Qwen2.5-0.5B"))
/// print(checkpoint.configuration.nLayers, checkpoint.weights.dtype ?? .float32)
/// ```
public struct Checkpoint {
    /// The model directory.
    public let directory: URL
    /// The architecture, from `config.json` (a multimodal wrapper's tying resolved against the weights).
    public let configuration: ModelConfiguration
    /// The tensors, from `model.safetensors` or its shards.
    public let weights: WeightStore

    /// Reads `config.json` and opens the safetensors files of `directory`; products with its bfloat16 and float16
    /// weights compute in `computePrecision`.
    public init(directory: URL, computePrecision: ComputePrecision = .float32) throws {
        self.directory = directory
        let configuration = try ModelConfiguration(contentsOf: directory.appendingPathComponent("config.json"))
        weights = try WeightStore(directory: directory)
        self.configuration = configuration.resolvingTiedEmbeddings(weights)
        weights.computePrecision = computePrecision
    }
}
