/// A `config.json` token id field that may hold one id or a list (`"eos_token_id": 2` or `[128001, 128009]`).
public struct TokenIDList: Codable, Equatable, Sendable {
    /// The ids, in file order.
    public var ids: [Int]

    public init(_ ids: [Int]) {
        self.ids = ids
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let id = try? container.decode(Int.self) {
            ids = [id]
        } else {
            ids = try container.decode([Int].self)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if ids.count == 1 { try container.encode(ids[0]) } else { try container.encode(ids) }
    }
}
