/// A set of edges of a ``ComputationGraph`` as a dense `[senders, receivers]` matrix of 0/1 values; in a
/// position-aware graph `[senders, receivers, positions]`, one value per position bucket.
///
/// In edge patching, 1 means "this edge carries the patched (e.g. corrupted) value".
public struct EdgeMask: Equatable, Sendable {
    public let senderCount: Int
    public let receiverCount: Int
    /// Position buckets per edge (1 in a plain graph).
    public let positionCount: Int
    /// Row-major `[sender, receiver, position]`.
    public private(set) var values: [Float]

    /// An empty mask (no edge selected).
    public init(graph: ComputationGraph) {
        senderCount = graph.senders.count
        receiverCount = graph.receivers.count
        positionCount = graph.positionCount
        values = [Float](repeating: 0, count: senderCount * receiverCount * positionCount)
    }

    /// A mask with the given `[sender, receiver, position]` values.
    public init(graph: ComputationGraph, values: [Float]) {
        precondition(values.count == graph.senders.count * graph.receivers.count * graph.positionCount, "mask size does not match the graph")
        senderCount = graph.senders.count
        receiverCount = graph.receivers.count
        positionCount = graph.positionCount
        self.values = values
    }

    /// A mask selecting `edges`.
    public init(graph: ComputationGraph, edges: some Sequence<ComputationGraph.Edge>) {
        self.init(graph: graph)
        for edge in edges { self[graph.index(of: edge.sender), graph.index(of: edge.receiver), edge.position ?? 0] = 1 }
    }

    /// A mask selecting every edge of the graph.
    public static func all(_ graph: ComputationGraph) -> EdgeMask { EdgeMask(graph: graph, edges: graph.edges) }

    public subscript(sender: Int, receiver: Int, position: Int = 0) -> Float {
        get { values[(sender * receiverCount + receiver) * positionCount + position] }
        set { values[(sender * receiverCount + receiver) * positionCount + position] = newValue }
    }

    /// Whether the edge `sender → receiver` is selected at some position.
    func selectsAnyPosition(sender: Int, receiver: Int) -> Bool {
        if positionCount == 1 { return values[sender * receiverCount + receiver] != 0 }
        let start = (sender * receiverCount + receiver) * positionCount
        return values[start..<(start + positionCount)].contains { $0 != 0 }
    }

    /// Whether the edge `sender → receiver` is selected at every position.
    func selectsEveryPosition(sender: Int, receiver: Int) -> Bool {
        if positionCount == 1 { return values[sender * receiverCount + receiver] != 0 }
        let start = (sender * receiverCount + receiver) * positionCount
        return !values[start..<(start + positionCount)].contains(0)
    }

    /// Whether any edge into one of `receivers` is selected.
    func selectsAny(into receivers: Range<Int>, senders: Range<Int>) -> Bool {
        for s in senders {
            for r in receivers where selectsAnyPosition(sender: s, receiver: r) { return true }
        }
        return false
    }

    /// The sub-matrix `[senders, receivers]`.
    func block(senders: [Int], receivers: Range<Int>) -> [Float] {
        senders.flatMap { s in receivers.map { self[s, $0] } }
    }

    /// The complement within the graph's edges: every edge not selected here.
    public func complement(in graph: ComputationGraph) -> EdgeMask {
        var result = EdgeMask(graph: graph)
        for r in 0..<receiverCount {
            for s in 0..<graph.upstreamCount(of: r) {
                for p in 0..<positionCount where self[s, r, p] == 0 { result[s, r, p] = 1 }
            }
        }
        return result
    }

    /// The number of selected edges.
    public var count: Int { values.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }
}
