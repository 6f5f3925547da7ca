import Foundation

/// An error found while reading a checkpoint or its `config.json`.
///
/// The message names the file and, where there is one, the tensor or field at fault, and says what is wrong:
///
/// ```text
/// /models/tiny/model.safetensors: tensor 'lm_head.weight': data_offsets [0, 12] hold 12 bytes but F32 [2, 3] needs 24
/// ```
public struct LoadingError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The full message.
    public let description: String

    /// Creates an error with a complete message.
    public init(_ description: String) {
        self.description = description
    }

    public var errorDescription: String? { description }
}
