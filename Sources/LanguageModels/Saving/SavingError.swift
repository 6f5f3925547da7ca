/// An error found while writing a checkpoint, a `config.json` or training state.
///
/// The message names the file, field or tensor at fault, e.g.
/// `config.json: model_type gpt2 needs learned positions, but the configuration has rotary positions`.
public struct SavingError: Error, CustomStringConvertible, Equatable {
    /// The full message.
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
