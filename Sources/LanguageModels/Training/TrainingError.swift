/// An error in training input or state that the caller can cause: a token outside the vocabulary, an
/// example longer than the context, a checkpoint that does not match the model.
public struct TrainingError: Error, CustomStringConvertible, Equatable {
    /// The full message, naming the example, file or parameter at fault.
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
