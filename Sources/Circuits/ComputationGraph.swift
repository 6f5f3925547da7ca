/// The computational graph of a model as circuit discovery sees it.
///
/// Nodes are the embedding (`input`), each attention head (`a{l}.h{h}`), each MLP (`m{l}`) and the `logits`.
/// An edge runs from a node's output to a later node's input: to each head's query, key and value input
/// (`<q>`, `<k>`, `<v>`), to each MLP's input, and to the logits. Which senders a receiver reads is the
/// model's to say: an MLP reads its own layer's heads in a sequential block, not in a parallel one
/// (``TransformerBlock/mlpReadsAttentionOutput``).
/// With grouped-query attention, keys and values are read per key-value head (`a{l}.kv{g}<k>`).
/// GPT-2 small has 32,491 edges.
///
/// Because a pre-norm residual stream is a sum of writes, a receiver's input is the sum of its senders'
/// outputs (plus constant biases), which is what makes single edges patchable. Each receiver reads the
/// residual stream at one hook point (``readPoint(of:)``): the block's `resid_pre` for the heads, `resid_mid` (or
/// `resid_pre` in a parallel block) for the MLP, the last `resid_post` for the logits. Behind a post-attention
/// norm (Gemma-2/3, OLMo-2) a head's output is its share of the normalized attention output, with the norm's
/// divisor of the run at hand (``TransformerBlock/headSenderOutputs(results:postNormDivisor:)``), so the sum holds there too.
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

    /// One edge: a sender's output read by a receiver's input; in a position-aware graph, at one position
    /// bucket (see ``positions``).
    public struct Edge: Hashable, Sendable {
        public let sender: Sender
        public let receiver: Receiver
        /// The position bucket, an index into ``ComputationGraph/positions``; nil in a plain graph.
        public let position: Int?

        public init(sender: Sender, receiver: Receiver, position: Int? = nil) {
            self.sender = sender
            self.receiver = receiver
            self.position = position
        }

        /// The same edge without its position.
        public var unpositioned: Edge { Edge(sender: sender, receiver: receiver) }
    }

    public let layerCount: Int
    public let headCount: Int
    public let keyValueHeadCount: Int
    /// Which query heads share which key-value head.
    public let grouping: HeadGrouping
    /// Whether the model has MLPs (attention-only models do not).
    public let hasMLPs: Bool
    /// Per layer: whether the MLP reads that layer's heads (false in a parallel-attention block).
    public let mlpReadsAttentionOutput: [Bool]
    /// Senders in forward order: `input`, then per layer its heads and its MLP.
    public let senders: [Sender]
    /// Receivers in forward order: per layer queries, keys, values, the MLP; then the logits.
    public let receivers: [Receiver]
    /// Position buckets of a position-aware graph (e.g. `IO`, `S1`, `S2`, `END`, `other`); empty in a plain
    /// graph. See `PositionalGraph.swift`.
    public let positions: [String]
    /// Every edge, grouped by receiver in forward order, senders in forward order within a receiver (and
    /// positions in order within a sender, in a position-aware graph).
    public let edges: [Edge]
    let senderIndex: [Sender: Int]
    let receiverIndex: [Receiver: Int]
    /// For each receiver, the number of senders before it in ``senders`` that it reads.
    let upstreamCount: [Int]
    /// For each receiver, the residual stream point it reads.
    let receiverReadPoints: [HookPoint]

    /// - Parameter mlpReadsAttentionOutput: per layer, whether the MLP reads that layer's heads (all true
    ///   by default: sequential blocks).
    /// - Parameter positions: the position buckets of a position-aware graph (none: a plain graph).
    public init(layerCount: Int, headCount: Int, keyValueHeadCount: Int? = nil, hasMLPs: Bool = true,
                mlpReadsAttentionOutput: [Bool]? = nil, positions: [String] = []) {
        self.layerCount = layerCount
        self.headCount = headCount
        self.keyValueHeadCount = keyValueHeadCount ?? headCount
        grouping = HeadGrouping(heads: headCount, keyValueHeads: keyValueHeadCount ?? headCount)
        self.hasMLPs = hasMLPs
        let mlpReadsHeads = mlpReadsAttentionOutput ?? Array(repeating: true, count: layerCount)
        precondition(mlpReadsHeads.count == layerCount, "one MLP reading rule per layer expected")
        self.mlpReadsAttentionOutput = mlpReadsHeads
        var senders: [Sender] = [.input], receivers: [Receiver] = [], upstream: [Int] = [], reads: [HookPoint] = []
        for l in 0..<layerCount {
            let before = senders.count
            let attentionReceivers: [Receiver] = (0..<headCount).map { .query(layer: l, head: $0) }
                + (0..<self.keyValueHeadCount).map { .key(layer: l, group: $0) }
                + (0..<self.keyValueHeadCount).map { .value(layer: l, group: $0) }
            receivers += attentionReceivers
            upstream += Array(repeating: before, count: attentionReceivers.count)
            reads += Array(repeating: .residPre(l), count: attentionReceivers.count)
            senders += (0..<headCount).map { .head(layer: l, head: $0) }
            if hasMLPs {
                receivers.append(.mlp(layer: l))
                upstream.append(mlpReadsHeads[l] ? senders.count : before)
                reads.append(mlpReadsHeads[l] ? .residMid(l) : .residPre(l))
                senders.append(.mlp(layer: l))
            }
        }
        receivers.append(.logits); upstream.append(senders.count); reads.append(.residPost(layerCount - 1))
        receiverReadPoints = reads
        self.senders = senders
        self.receivers = receivers
        upstreamCount = upstream
        senderIndex = Dictionary(uniqueKeysWithValues: senders.enumerated().map { ($1, $0) })
        receiverIndex = Dictionary(uniqueKeysWithValues: receivers.enumerated().map { ($1, $0) })
        self.positions = positions
        let buckets: [Int?] = positions.isEmpty ? [nil] : Array(positions.indices)
        edges = receivers.enumerated().flatMap { r, receiver in
            senders[..<upstream[r]].flatMap { sender in buckets.map { Edge(sender: sender, receiver: receiver, position: $0) } }
        }
    }

    /// The graph of a model: which senders each receiver reads is asked of its blocks.
    /// - Parameter positions: the position buckets of a position-aware graph (none: a plain graph).
    public init(model: TransformerModel, positions: [String] = []) {
        self.init(layerCount: model.layerCount, headCount: model.headCount,
                  keyValueHeadCount: model.blocks.first?.attention.keyValueHeads, hasMLPs: model.hasMLPs,
                  mlpReadsAttentionOutput: model.blocks.map(\.mlpReadsAttentionOutput), positions: positions)
    }

    public var groupedQuery: Bool { grouping.isGrouped }

    /// The residual stream point receiver `receiver` (an index into ``receivers``) reads: the sum of its
    /// senders' outputs and the biases before it.
    public func readPoint(of receiver: Int) -> HookPoint { receiverReadPoints[receiver] }

    /// The distinct points receivers read, in forward order, with the number of senders each point sums.
    public var readPoints: [(point: HookPoint, upstream: Int)] {
        var seen = Set<HookPoint>(), result: [(HookPoint, Int)] = []
        for r in receivers.indices where seen.insert(receiverReadPoints[r]).inserted {
            result.append((receiverReadPoints[r], upstreamCount[r]))
        }
        return result
    }

    /// The name of an edge, e.g. `a3.h7->a9.h9<q>`, `m5->logits`; in a position-aware graph with the position
    /// at both ends, e.g. `a3.h7@S2->a9.h9<k>@S2`.
    public func name(of edge: Edge) -> String {
        guard let p = edge.position else { return edge.sender.name + "->" + edge.receiver.name(groupedQuery: groupedQuery) }
        return edge.sender.name + "@" + positions[p] + "->" + edge.receiver.name(groupedQuery: groupedQuery) + "@" + positions[p]
    }

    /// The senders a receiver reads.
    public func senders(of receiver: Receiver) -> ArraySlice<Sender> {
        senders[..<upstreamCount[receiverIndex[receiver]!]]
    }

    /// Whether `sender → receiver` is an edge of this graph.
    public func contains(_ edge: Edge) -> Bool {
        guard let s = senderIndex[edge.sender], let r = receiverIndex[edge.receiver],
              (edge.position == nil) == positions.isEmpty, (edge.position ?? 0) < positionCount else { return false }
        return s < upstreamCount[r]
    }

    /// The receivers that belong to a sender's node (a head's q/k/v inputs, an MLP's input), for
    /// deciding whether a node is reached.
    public func inputs(of node: Sender) -> [Receiver] {
        switch node {
        case .input: return []
        case let .head(l, h):
            let g = grouping.keyValueHead(of: h)
            return [.query(layer: l, head: h), .key(layer: l, group: g), .value(layer: l, group: g)]
        case let .mlp(l): return [.mlp(layer: l)]
        }
    }

    /// The sender nodes whose inputs include `receiver` (several heads share a key-value input).
    public func nodes(reading receiver: Receiver) -> [Sender] {
        switch receiver {
        case let .query(l, h): return [.head(layer: l, head: h)]
        case let .key(l, g), let .value(l, g):
            return grouping.queryHeads(of: g).map { .head(layer: l, head: $0) }
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
            running += upstreamCount[r] * positionCount
        }
        return offsets
    }

    /// The number of senders a receiver may read.
    public func upstreamCount(of receiver: Int) -> Int { upstreamCount[receiver] }
}

/// Errors in circuit inputs.
public enum CircuitError: Error, CustomStringConvertible, Equatable {
    case unknownEdge(String)
    /// A node name the graph does not have; `known` describes the names it has.
    case unknownNode(name: String, known: String)
    case invalidFile(path: String, reason: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .unknownEdge(let name): return "unknown edge '\(name)' (edges look like 'a3.h7->a9.h9<q>', 'm5->logits')"
        case let .unknownNode(name, known): return "unknown node '\(name)': this model's nodes are \(known)"
        case let .invalidFile(path, reason): return "\(path): \(reason)"
        case .invalidArgument(let reason): return reason
        }
    }
}
