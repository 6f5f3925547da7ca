/// A checkpoint stores the removed-edge mask as the ranges of its removed entries (`removedRanges`, half-open
/// `[start, end)` pairs, with the mask's size in `maskSize`): a run's removed edges come in long runs in the order
/// ACDC visits them, so this is a few numbers where the full mask is one per sender, receiver and position (70,651
/// on the SmolLM2-135M shape). A mask with entries other than 0 and 1 is stored whole, as `removed`, the form older
/// checkpoints have; both forms decode to the same state.
extension ACDCState {
    private enum CodingKeys: String, CodingKey {
        case removed, removedRanges, maskSize, current, receiver, sender, alive, effects, tested, threshold, metric, edgeCount
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let whole = try container.decodeIfPresent([Float].self, forKey: .removed) {
            removed = whole
        } else {
            let size = try container.decode(Int.self, forKey: .maskSize)
            let ranges = try container.decode([[Int]].self, forKey: .removedRanges)
            guard size >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: .maskSize, in: container, debugDescription: "a negative mask size \(size)")
            }
            removed = [Float](repeating: 0, count: size)
            for range in ranges {
                guard range.count == 2, 0 <= range[0], range[0] <= range[1], range[1] <= size else {
                    throw DecodingError.dataCorruptedError(forKey: .removedRanges, in: container,
                                                           debugDescription: "\(range) is not a range [start, end) within \(size) entries")
                }
                for index in range[0]..<range[1] { removed[index] = 1 }
            }
        }
        current = try container.decode(Float.self, forKey: .current)
        receiver = try container.decode(Int.self, forKey: .receiver)
        sender = try container.decode(Int.self, forKey: .sender)
        alive = try container.decode(Set<Int>.self, forKey: .alive)
        effects = try container.decode([Int: Float].self, forKey: .effects)
        tested = try container.decode(Int.self, forKey: .tested)
        threshold = try container.decode(Float.self, forKey: .threshold)
        metric = try container.decode(String.self, forKey: .metric)
        edgeCount = try container.decode(Int.self, forKey: .edgeCount)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if removed.allSatisfy({ $0 == 0 || $0 == 1 }) {
            try container.encode(removed.count, forKey: .maskSize)
            try container.encode(Self.ranges(ofOnes: removed), forKey: .removedRanges)
        } else {
            try container.encode(removed, forKey: .removed)
        }
        try container.encode(current, forKey: .current)
        try container.encode(receiver, forKey: .receiver)
        try container.encode(sender, forKey: .sender)
        try container.encode(alive, forKey: .alive)
        try container.encode(effects, forKey: .effects)
        try container.encode(tested, forKey: .tested)
        try container.encode(threshold, forKey: .threshold)
        try container.encode(metric, forKey: .metric)
        try container.encode(edgeCount, forKey: .edgeCount)
    }

    /// The maximal runs of ones in `mask`, as `[start, end)` pairs.
    private static func ranges(ofOnes mask: [Float]) -> [[Int]] {
        var ranges: [[Int]] = []
        var start: Int?
        for (index, value) in mask.enumerated() {
            if value == 1, start == nil { start = index }
            if value != 1, let first = start {
                ranges.append([first, index])
                start = nil
            }
        }
        if let start { ranges.append([start, mask.count]) }
        return ranges
    }
}
