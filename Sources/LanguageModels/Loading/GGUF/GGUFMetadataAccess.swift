extension GGUFFile {
    /// The error for metadata `key`: `<file>: metadata '<key>' <problem>`.
    func metadataError(_ key: String, _ problem: String) -> LoadingError {
        LoadingError("\(url.path): metadata '\(key)' \(problem)")
    }

    /// An integer value, nil when absent; throws when present with another type.
    public func integer(_ key: String) throws -> Int? {
        guard let value = metadata[key] else { return nil }
        guard let integer = value.integer else { throw metadataError(key, "must be an integer, found \(value.typeName)") }
        return integer
    }

    /// The special token `tokenizer.ggml.<kind>_token_id` (`bos`, `eos`) as a configuration records it: one ID, or
    /// none when absent.
    func specialTokenIDs(_ kind: String) throws -> [Int] {
        try integer("tokenizer.ggml.\(kind)_token_id").map { [$0] } ?? []
    }

    /// An integer value that must be present and positive.
    public func positiveInteger(_ key: String) throws -> Int {
        guard let value = try integer(key) else { throw metadataError(key, "is missing") }
        guard value > 0 else { throw metadataError(key, "must be positive, found \(value)") }
        return value
    }

    /// A number, nil when absent; throws when present with another type.
    public func number(_ key: String) throws -> Double? {
        guard let value = metadata[key] else { return nil }
        guard let number = value.number else { throw metadataError(key, "must be a number, found \(value.typeName)") }
        return number
    }

    /// A string, nil when absent; throws when present with another type.
    public func string(_ key: String) throws -> String? {
        guard let value = metadata[key] else { return nil }
        guard let string = value.string else { throw metadataError(key, "must be a string, found \(value.typeName)") }
        return string
    }

    /// A boolean, nil when absent; throws when present with another type.
    public func bool(_ key: String) throws -> Bool? {
        guard let value = metadata[key] else { return nil }
        guard let bool = value.bool else { throw metadataError(key, "must be a bool, found \(value.typeName)") }
        return bool
    }

    /// An array whose elements are all converted by `element` (nil for a wrong element type), nil when absent.
    public func array<T>(_ key: String, of elementName: String, _ element: (GGUFValue) -> T?) throws -> [T]? {
        guard let value = metadata[key] else { return nil }
        guard let elements = value.array else { throw metadataError(key, "must be an array of \(elementName), found \(value.typeName)") }
        var result: [T] = []
        result.reserveCapacity(elements.count)
        for (index, item) in elements.enumerated() {
            guard let converted = element(item) else {
                throw metadataError(key, "must be an array of \(elementName), found \(item.typeName) at index \(index)")
            }
            result.append(converted)
        }
        return result
    }

    /// A per-layer integer given either once or as an array with one entry per layer, all equal (llama.cpp writes
    /// arrays for models whose layers differ, which this library does not build).
    func uniformInteger(_ key: String, layers: Int) throws -> Int? {
        guard let value = metadata[key] else { return nil }
        if value.array == nil { return try integer(key) }
        let values = try array(key, of: "integers", \.integer)!
        guard values.count == layers else { throw metadataError(key, "has \(values.count) entries for \(layers) layers") }
        guard let first = values.first, values.allSatisfy({ $0 == first }) else {
            throw metadataError(key, "differs between layers (\(values)); layers of different shapes are not supported")
        }
        return first
    }
}
