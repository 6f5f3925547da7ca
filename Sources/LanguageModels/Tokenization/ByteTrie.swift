/// A trie over UTF-8 bytes mapping keys to values, for finding every key that starts at a given
/// position of a text (Unigram lattices, added tokens).
struct ByteTrie: Sendable {
    /// The child of `node` reached by `byte`, keyed by `node << 8 | byte`.
    private var children: [Int: Int32] = [:]
    /// The value of the key ending at each node, if one does.
    private var values: [Int32?] = [nil]

    init() {}

    /// Stores `value` under the UTF-8 bytes of `key`, replacing the value of an identical key.
    /// The empty key is never found.
    mutating func insert(_ key: String, value: Int32) {
        var node = 0
        for byte in key.utf8 {
            let edge = node << 8 | Int(byte)
            if let child = children[edge] {
                node = Int(child)
            } else {
                values.append(nil)
                children[edge] = Int32(values.count - 1)
                node = values.count - 1
            }
        }
        if node != 0 { values[node] = value }
    }

    /// Calls `body` with the end and value of every key that starts at `start` in `bytes`, shortest first.
    func forEachKey(in bytes: [UInt8], startingAt start: Int, _ body: (_ end: Int, _ value: Int32) throws -> Void) rethrows {
        var node = 0
        var position = start
        while position < bytes.count, let child = children[node << 8 | Int(bytes[position])] {
            node = Int(child)
            position += 1
            if let value = values[node] { try body(position, value) }
        }
    }
}
