/// A problem with a tokenizer's files or with text it cannot encode.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// A required file is absent.
    case missingFile(path: String)
    /// A file is not valid JSON.
    case malformedJSON(file: String, reason: String)
    /// A field is absent or has the wrong kind of value.
    case invalidField(file: String, field: String, expected: String)
    /// A component (normalizer, pre-tokenizer, model, post-processor, decoder) of a type this
    /// package does not implement.
    case unsupportedComponent(file: String, component: String, type: String)
    /// The files are well formed but contradict each other, e.g. a merge whose result is not in the vocabulary.
    case inconsistentVocabulary(file: String, reason: String)
    /// Text needs the unknown token but the model defines none that is in its vocabulary.
    case unknownTokenMissing(token: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): file not found"
        case .malformedJSON(let file, let reason):
            return "\(file): malformed JSON (\(reason))"
        case .invalidField(let file, let field, let expected):
            return "\(file): field '\(field)' must be \(expected)"
        case .unsupportedComponent(let file, let component, let type):
            return "\(file): \(component) type '\(type)' is not supported"
        case .inconsistentVocabulary(let file, let reason):
            return "\(file): \(reason)"
        case .unknownTokenMissing(let token):
            return "cannot encode '\(token)': it is not in the vocabulary and the model has no usable unknown token"
        }
    }
}
