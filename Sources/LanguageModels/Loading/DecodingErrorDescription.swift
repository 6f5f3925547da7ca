/// Short, user-facing descriptions of JSON decoding failures, naming the field at fault.
extension DecodingError {
    /// E.g. `field 'num_attention_heads' is missing` or `field 'rope_parameters.factor': expected Double`.
    public var fieldDescription: String {
        switch self {
        case .keyNotFound(let key, let context):
            return "field '\(Self.path(context.codingPath + [key]))' is missing"
        case .typeMismatch(let type, let context):
            return "field '\(Self.path(context.codingPath))' has the wrong type (expected \(type))"
        case .valueNotFound(let type, let context):
            return "field '\(Self.path(context.codingPath))' is null (expected \(type))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "not valid JSON"
                : "field '\(Self.path(context.codingPath))': \(context.debugDescription)"
        @unknown default:
            return "cannot be decoded: \(self)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
