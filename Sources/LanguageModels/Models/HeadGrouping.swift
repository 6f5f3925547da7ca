/// Which query heads share which key-value head under grouped-query attention (each key-value head serves a
/// contiguous run of `heads / keyValueHeads` query heads; without grouping each head is its own group).
public struct HeadGrouping: Sendable, Equatable, Hashable {
    public let heads: Int
    public let keyValueHeads: Int

    public init(heads: Int, keyValueHeads: Int) {
        precondition(keyValueHeads > 0 && heads % keyValueHeads == 0, "\(heads) heads cannot share \(keyValueHeads) key-value heads")
        self.heads = heads
        self.keyValueHeads = keyValueHeads
    }

    /// Whether key-value heads are shared (fewer than query heads).
    public var isGrouped: Bool { keyValueHeads != heads }

    /// The key-value head that query head `head` reads.
    public func keyValueHead(of head: Int) -> Int { head / (heads / keyValueHeads) }

    /// The query heads that read key-value head `group`.
    public func queryHeads(of group: Int) -> Range<Int> {
        let perGroup = heads / keyValueHeads
        return (group * perGroup)..<((group + 1) * perGroup)
    }
}
