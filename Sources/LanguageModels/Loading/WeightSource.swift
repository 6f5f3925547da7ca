import Tensors

/// Named tensors in Hugging Face layout that a model is built from (``TransformerModel/build(_:weights:source:)``):
/// a checkpoint on disk (``WeightStore``), tensors in memory (``NamedTensors``) or freshly initialized ones.
public protocol WeightSource {
    /// Whether a tensor of this name exists.
    func has(_ name: String) -> Bool
    /// The tensor `name`, which must have `shape`.
    func tensor(named name: String, shape: [Int]) throws -> Tensor
    /// The `[out, in]` weight of the Linear or Embedding module `module` (e.g. `model.layers.0.mlp.up_proj`).
    func weightMatrix(module: String, shape: [Int], quantization: MLXQuantization?) throws -> WeightMatrix
    /// The `[out, in]` weight of a GPT-2 `Conv1D` module, stored `[in, out]` as `name`.
    func conv1DWeight(named name: String, inputs: Int, outputs: Int) throws -> WeightMatrix
}

extension WeightSource {
    /// The `Float` tensor `name` (`[inputs, outputs]`) transposed.
    public func conv1DWeight(named name: String, inputs: Int, outputs: Int) throws -> WeightMatrix {
        .dense(try tensor(named: name, shape: [inputs, outputs]).transposed())
    }

    /// The Linear module `module`: its `[outputs, inputs]` weight (MLX-quantized when the checkpoint stores it so,
    /// under `quantization`) and, with `bias`, its `module.bias`.
    func linear(_ module: String, _ outputs: Int, _ inputs: Int, bias: Bool,
                quantization: MLXQuantization?) throws -> Linear {
        Linear(matrix: try weightMatrix(module: module, shape: [outputs, inputs], quantization: quantization),
               bias: bias ? try tensor(named: module + ".bias", shape: [outputs]) : nil)
    }

    /// The token embedding `[vocabulary, d]` and the unembedding: the same matrix when `configuration` ties them,
    /// the module `unembedding` otherwise; each MLX-quantized when stored so.
    func embeddings(_ configuration: ModelConfiguration, embedding: String,
                    unembedding: String) throws -> (WeightMatrix, WeightMatrix) {
        let shape = [configuration.vocabularySize, configuration.dModel]
        let tokens = try weightMatrix(module: embedding, shape: shape, quantization: configuration.quantization)
        guard !configuration.tiedEmbeddings else { return (tokens, tokens) }
        return (tokens, try weightMatrix(module: unembedding, shape: shape, quantization: configuration.quantization))
    }
}

extension WeightStore: WeightSource {}

/// Dense tensors in memory, by name: a ``WeightSource`` that needs no file.
///
/// ```swift
/// let weights = NamedTensors(try model.huggingFaceTensors(configuration: configuration))
/// let copy = try TransformerModel.build(configuration, weights: weights)
/// ```
public struct NamedTensors: WeightSource {
    public var tensors: [String: Tensor]

    public init(_ tensors: [String: Tensor]) {
        self.tensors = tensors
    }

    /// Tensors from `(name, tensor)` pairs; names must be distinct.
    public init(_ pairs: [(name: String, tensor: Tensor)]) {
        self.init(Dictionary(pairs.map { ($0.name, $0.tensor) }, uniquingKeysWith: { _, _ in
            preconditionFailure("NamedTensors: duplicate tensor names")
        }))
    }

    public func has(_ name: String) -> Bool { tensors[name] != nil }

    public func tensor(named name: String, shape: [Int]) throws -> Tensor {
        guard let tensor = tensors[name] else { throw LoadingError("tensor '\(name)' not found (in memory)") }
        guard tensor.shape == shape else {
            throw LoadingError("\(name): expected shape \(shape), found \(tensor.shape) (in memory)")
        }
        return tensor
    }

    public func weightMatrix(module: String, shape: [Int], quantization: MLXQuantization?) throws -> WeightMatrix {
        .dense(try tensor(named: "\(module).weight", shape: shape))
    }
}
