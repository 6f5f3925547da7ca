import Foundation

/// Llama 4's position-dependent query temperature, which Ministral 3 applies to its rotated queries
/// (transformers' `get_llama_4_attn_scale`, from `rope_parameters`' `llama_4_scaling_beta` and
/// `original_max_position_embeddings`): the query at position `p` is multiplied by
/// `1 + beta · ln(1 + floor(p / originalMaxPositionEmbeddings))`, exactly 1 within the original context.
public struct QueryPositionScaling: Sendable, Equatable {
    /// `llama_4_scaling_beta`.
    public let beta: Double
    /// The context length within which queries keep their scale 1 (`original_max_position_embeddings`).
    public let originalMaxPositionEmbeddings: Int

    public init(beta: Double, originalMaxPositionEmbeddings: Int) {
        precondition(originalMaxPositionEmbeddings > 0, "the original context must be positive")
        self.beta = beta
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
    }

    /// The factor of the query at `position`, in fp32 as torch computes it (`floor(p / original)` is the integer quotient).
    public func factor(position: Int) -> Float {
        let blocks = Float(position / originalMaxPositionEmbeddings)
        return 1 + Float(beta) * Foundation.log(1 + blocks)
    }

    /// Whether some position of `positions` gets a factor other than 1.
    func scales(_ positions: [[Int]]) -> Bool {
        beta != 0 && positions.joined().contains { $0 >= originalMaxPositionEmbeddings }
    }
}
