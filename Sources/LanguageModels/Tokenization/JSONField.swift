import Foundation

/// A value inside a parsed JSON file that knows where it came from, so that every error names
/// the file and the field at fault ("tokenizer.json: field 'model.vocab' must be an object").
struct JSONField {
    let value: Any
    /// The file name used in error messages.
    let file: String
    /// The path of the containing value and this value's place in it; the full path is only
    /// spelled out for error messages, which keeps walking a vocabulary of 100,000 entries cheap.
    private let parentPath: String
    private let place: Place

    private enum Place {
        case root
        case member(String)
        case element(Int)
    }

    /// The dotted path of this value, e.g. "pre_tokenizer.pretokenizers[1].pattern".
    var path: String {
        switch place {
        case .root: return ""
        case .member(let key): return parentPath.isEmpty ? key : "\(parentPath).\(key)"
        case .element(let index): return "\(parentPath)[\(index)]"
        }
    }

    /// Parses `data` as the JSON file named `file`.
    init(parsing data: Data, file: String) throws {
        do {
            value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw TokenizerError.malformedJSON(file: file, reason: error.localizedDescription)
        }
        self.file = file
        parentPath = ""
        place = .root
    }

    private init(value: Any, file: String, parentPath: String, place: Place) {
        self.value = value
        self.file = file
        self.parentPath = parentPath
        self.place = place
    }

    /// Whether `value` is JSON null. Compares the dynamic type: `value is NSNull` would first
    /// bridge a Swift dictionary or array (and everything inside it) to Objective-C.
    private static func isNull(_ value: Any) -> Bool {
        ObjectIdentifier(type(of: value)) == ObjectIdentifier(NSNull.self)
    }

    func invalid(_ expected: String) -> TokenizerError {
        .invalidField(file: file, field: path.isEmpty ? "(top level)" : path, expected: expected)
    }

    private func child(_ value: Any, key: String) -> JSONField {
        JSONField(value: value, file: file, parentPath: path, place: .member(key))
    }

    /// The member `key` of this object, or nil when it is absent or null.
    func member(_ key: String) throws -> JSONField? {
        guard let object = value as? [String: Any] else { throw invalid("an object") }
        guard let child = object[key], !Self.isNull(child) else { return nil }
        return self.child(child, key: key)
    }

    /// The member `key` of this object; throws when it is absent or null.
    func required(_ key: String) throws -> JSONField {
        guard let child = try member(key) else {
            throw child(NSNull(), key: key).invalid("present")
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

    func double() throws -> Double {
        guard let double = value as? Double else { throw invalid("a number") }
        return double
    }

    func bool() throws -> Bool {
        guard let bool = value as? Bool else { throw invalid("true or false") }
        return bool
    }

    func array() throws -> [JSONField] {
        guard let array = value as? [Any] else { throw invalid("an array") }
        let path = path
        return array.enumerated().map { index, element in
            JSONField(value: element, file: file, parentPath: path, place: .element(index))
        }
    }

    /// The members of this object, in no particular order.
    func members() throws -> [(key: String, value: JSONField)] {
        guard let object = value as? [String: Any] else { throw invalid("an object") }
        return object.map { key, value in (key, child(value, key: key)) }
    }

    /// The largest token id read. The tokenizers library's ids are unsigned 32-bit; the byte-pair model packs
    /// them as signed 32-bit values.
    static let maximumTokenID = Int(Int32.max)

    /// This value as a token id: an integer from 0 to ``maximumTokenID``.
    func tokenID() throws -> Int {
        guard let id = value as? Int, (0...Self.maximumTokenID).contains(id) else {
            throw invalid("a token id (an integer from 0 to \(Self.maximumTokenID))")
        }
        return id
    }

    /// The members of this object, which must all be token ids (a vocabulary; ``tokenID()``). Faster than
    /// ``members()`` for objects with a hundred thousand entries.
    func tokenIDMembers() throws -> [(key: String, value: Int)] {
        guard let object = value as? [String: Any] else { throw invalid("an object") }
        return try object.map { key, child in
            if let id = child as? Int, (0...Self.maximumTokenID).contains(id) { return (key, id) }
            return (key, try self.child(child, key: key).tokenID())  // throws, naming the entry
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
