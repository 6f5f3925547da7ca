import Foundation

/// A value inside a parsed JSON file that knows where it came from, so that every error names
/// the file and the field at fault ("tokenizer.json: field 'model.vocab' must be an object").
struct JSONField {
    let value: Any
    /// The file name used in error messages.
    let file: String
    /// The dotted path of this value, e.g. "pre_tokenizer.pretokenizers[1].pattern".
    let path: String

    /// Parses `data` as the JSON file named `file`.
    init(parsing data: Data, file: String) throws {
        do {
            value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw TokenizerError.malformedJSON(file: file, reason: error.localizedDescription)
        }
        self.file = file
        path = ""
    }

    private init(value: Any, file: String, path: String) {
        self.value = value
        self.file = file
        self.path = path
    }

    var isNull: Bool { value is NSNull }

    func invalid(_ expected: String) -> TokenizerError {
        .invalidField(file: file, field: path.isEmpty ? "(top level)" : path, expected: expected)
    }

    private func childPath(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// The member `key` of this object, or nil when it is absent or null.
    func member(_ key: String) throws -> JSONField? {
        guard let object = value as? [String: Any] else { throw invalid("an object") }
        guard let child = object[key], !(child is NSNull) else { return nil }
        return JSONField(value: child, file: file, path: childPath(key))
    }

    /// The member `key` of this object; throws when it is absent or null.
    func required(_ key: String) throws -> JSONField {
        guard let child = try member(key) else {
            throw TokenizerError.invalidField(file: file, field: childPath(key), expected: "present")
        }
        return child
    }

    func string() throws -> String {
        guard let string = value as? String else { throw invalid("a string") }
        return string
    }

    func int() throws -> Int {
        guard let int = value as? Int else { throw invalid("an integer") }
        return int
    }

    func bool() throws -> Bool {
        guard let bool = value as? Bool else { throw invalid("true or false") }
        return bool
    }

    func array() throws -> [JSONField] {
        guard let array = value as? [Any] else { throw invalid("an array") }
        return array.enumerated().map { index, element in
            JSONField(value: element, file: file, path: "\(path)[\(index)]")
        }
    }

    /// The members of this object, in no particular order.
    func members() throws -> [(key: String, value: JSONField)] {
        guard let object = value as? [String: Any] else { throw invalid("an object") }
        return object.map { key, child in (key, JSONField(value: child, file: file, path: childPath(key))) }
    }

    /// The members of this object, which must all be integers (a vocabulary). Faster than
    /// ``members()`` for objects with a hundred thousand entries.
    func integerMembers() throws -> [(key: String, value: Int)] {
        guard let object = value as? [String: Any] else { throw invalid("an object") }
        return try object.map { key, child in
            guard let int = child as? Int else {
                throw TokenizerError.invalidField(file: file, field: childPath(key), expected: "an integer")
            }
            return (key, int)
        }
    }

    /// The string member `key`, or nil when absent or null.
    func string(_ key: String) throws -> String? { try member(key)?.string() }

    /// The boolean member `key`, or `defaultValue` when absent or null.
    func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        try member(key)?.bool() ?? defaultValue
    }

    /// The integer member `key`, or `defaultValue` when absent or null.
    func int(_ key: String, default defaultValue: Int) throws -> Int {
        try member(key)?.int() ?? defaultValue
    }

    /// The `type` member naming a component's kind.
    func componentType() throws -> String { try required("type").string() }

    /// The error for a component whose `type` this package does not implement.
    func unsupported(_ type: String) -> TokenizerError {
        .unsupportedComponent(file: file, component: path, type: type)
    }
}
