/// The computational graph of a model as circuit discovery sees it.
///
/// Nodes are the embedding (`input`), each attention head (`a{l}.h{h}`), each MLP (`m{l}`) and the `logits`.
/// An edge runs from a node's output to a later node's input: to each head's query, key and value input
/// (`<q>`, `<k>`, `<v>`), to each MLP's input (an MLP also reads its own layer's heads), and to the logits.
/// With grouped-query attention, keys and values are read per key-value head (`a{l}.kv{g}<k>`).
/// GPT-2 small has 32,491 edges.
///
/// Because a pre-norm residual stream is a sum of writes, a receiver's input is the sum of its senders'
/// outputs (plus constant biases), which is what makes single edges patchable.
public struct ComputationGraph: Sendable {
    /// A node that writes into the residual stream.
    public enum Sender: Hashable, Sendable, Comparable {
        case input
        case head(layer: Int, head: Int)
        case mlp(layer: Int)

        public var name: String {
            switch self {
            case .input: return "input"
            case let .head(l, h): return "a\(l).h\(h)"
            case let .mlp(l): return "m\(l)"
            }
        }
    }

    /// A node input that reads the residual stream.
    public enum Receiver: Hashable, Sendable {
        case query(layer: Int, head: Int)
        /// Key input of key-value head `group` (equal to the head index without grouped-query attention).
        case key(layer: Int, group: Int)
        case value(layer: Int, group: Int)
        case mlp(layer: Int)
        case logits

        /// The receiving node and the input it names, as in `a3.h7<q>`.
        public func name(groupedQuery: Bool) -> String {
            let kvNode = groupedQuery ? "kv" : "h"
            switch self {
            case let .query(l, h): return "a\(l).h\(h)<q>"
            case let .key(l, g): return "a\(l).\(kvNode)\(g)<k>"
            case let .value(l, g): return "a\(l).\(kvNode)\(g)<v>"
            case let .mlp(l): return "m\(l)"
            case .logits: return "logits"
            }
        }

        /// The block whose computation this input feeds (`layerCount` for the logits).
        public func layer(layerCount: Int) -> Int {
            switch self {
            case let .query(l, _), let .key(l, _), let .value(l, _), let .mlp(l): return l
            case .logits: return layerCount
            }
        }
    }

    /// One edge: a sender's output read by a receiver's input.
    public struct Edge: Hashable, Sendable {
        public let sender: Sender
        public let receiver: Receiver
    }

    public let layerCount: Int
    public let headCount: Int
    public let keyValueHeadCount: Int
    /// Whether the model has MLPs (attention-only models do not).
    public let hasMLPs: Bool
    /// Senders in forward order: `input`, then per layer its heads and its MLP.
    public let senders: [Sender]
    /// Receivers in forward order: per layer queries, keys, values, the MLP; then the logits.
    public let receivers: [Receiver]
    /// Every edge, grouped by receiver in forward order, senders in forward order within a receiver.
    public let edges: [Edge]
    let senderIndex: [Sender: Int]
    let receiverIndex: [Receiver: Int]
    /// For each receiver, the number of senders before it in ``senders`` that it reads.
    let upstreamCount: [Int]

    public init(layerCount: Int, headCount: Int, keyValueHeadCount: Int? = nil, hasMLPs: Bool = true) {
        self.layerCount = layerCount
        self.headCount = headCount
        self.keyValueHeadCount = keyValueHeadCount ?? headCount
        self.hasMLPs = hasMLPs
        var senders: [Sender] = [.input], receivers: [Receiver] = [], upstream: [Int] = []
        for l in 0..<layerCount {
            let before = senders.count
            for h in 0..<headCount { receivers.append(.query(layer: l, head: h)); upstream.append(before) }
            for g in 0..<self.keyValueHeadCount { receivers.append(.key(layer: l, group: g)); upstream.append(before) }
            for g in 0..<self.keyValueHeadCount { receivers.append(.value(layer: l, group: g)); upstream.append(before) }
            senders += (0..<headCount).map { .head(layer: l, head: $0) }
            if hasMLPs {
                receivers.append(.mlp(layer: l)); upstream.append(senders.count)
                senders.append(.mlp(layer: l))
            }
        }
        receivers.append(.logits); upstream.append(senders.count)
        self.senders = senders
        self.receivers = receivers
        upstreamCount = upstream
        senderIndex = Dictionary(uniqueKeysWithValues: senders.enumerated().map { ($1, $0) })
        receiverIndex = Dictionary(uniqueKeysWithValues: receivers.enumerated().map { ($1, $0) })
        edges = receivers.enumerated().flatMap { r, receiver in
            senders[..<upstream[r]].map { Edge(sender: $0, receiver: receiver) }
        }
    }

    /// The graph of a model.
    public init(model: TransformerModel) {
        self.init(layerCount: model.layerCount, headCount: model.headCount,
                  keyValueHeadCount: model.blocks.first?.attention.keyValueHeads, hasMLPs: model.hasMLPs)
    }

    public var groupedQuery: Bool { keyValueHeadCount != headCount }

    /// The name of an edge, e.g. `a3.h7->a9.h9<q>`, `m5->logits`.
    public func name(of edge: Edge) -> String {
        edge.sender.name + "->" + edge.receiver.name(groupedQuery: groupedQuery)
    }

    /// The senders a receiver reads.
    public func senders(of receiver: Receiver) -> ArraySlice<Sender> {
        senders[..<upstreamCount[receiverIndex[receiver]!]]
    }

    /// Whether `sender → receiver` is an edge of this graph.
    public func contains(_ edge: Edge) -> Bool {
        guard let s = senderIndex[edge.sender], let r = receiverIndex[edge.receiver] else { return false }
        return s < upstreamCount[r]
    }

    /// The receivers that belong to a sender's node (a head's q/k/v inputs, an MLP's input), for
    /// deciding whether a node is reached.
    public func inputs(of node: Sender) -> [Receiver] {
        switch node {
        case .input: return []
        case let .head(l, h):
            let g = h / (headCount / keyValueHeadCount)
            return [.query(layer: l, head: h), .key(layer: l, group: g), .value(layer: l, group: g)]
        case let .mlp(l): return [.mlp(layer: l)]
        }
    }

    /// The sender nodes whose inputs include `receiver` (several heads share a key-value input).
    public func nodes(reading receiver: Receiver) -> [Sender] {
        switch receiver {
        case let .query(l, h): return [.head(layer: l, head: h)]
        case let .key(l, g), let .value(l, g):
            let perGroup = headCount / keyValueHeadCount
            return (0..<perGroup).map { .head(layer: l, head: g * perGroup + $0) }
        case let .mlp(l): return [.mlp(layer: l)]
        case .logits: return []
        }
    }

    /// Every edge by name, for reading circuit files.
    public func edgesByName() -> [String: Edge] {
        Dictionary(uniqueKeysWithValues: edges.map { (name(of: $0), $0) })
    }

    /// The index of a sender in ``senders``.
    public func index(of sender: Sender) -> Int { senderIndex[sender]! }

    /// The index of a receiver in ``receivers``.
    public func index(of receiver: Receiver) -> Int { receiverIndex[receiver]! }

    /// The number of senders that precede block `layer`'s attention (`input` and all earlier blocks).
    public func sendersBefore(layer: Int) -> Int { 1 + layer * (headCount + (hasMLPs ? 1 : 0)) }

    /// The index in ``edges`` of each receiver's first edge (edges are grouped by receiver).
    public var edgeOffsets: [Int] {
        var offsets: [Int] = [], running = 0
        for r in receivers.indices {
            offsets.append(running)
            running += upstreamCount[r]
        }
        return offsets
    }

    /// The number of senders a receiver may read.
    public func upstreamCount(of receiver: Int) -> Int { upstreamCount[receiver] }
}

/// Errors in circuit inputs.
public enum CircuitError: Error, CustomStringConvertible, Equatable {
    case unknownEdge(String)
    case unknownNode(String)
    case invalidFile(path: String, reason: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .unknownEdge(let name): return "unknown edge '\(name)' (edges look like 'a3.h7->a9.h9<q>', 'm5->logits')"
        case .unknownNode(let name): return "unknown node '\(name)' (nodes look like 'input', 'a3.h7', 'm5', 'logits')"
        case let .invalidFile(path, reason): return "\(path): \(reason)"
        case .invalidArgument(let reason): return reason
        }
    }
}
