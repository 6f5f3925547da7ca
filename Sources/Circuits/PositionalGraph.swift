
/// How a position-aware circuit groups token positions into buckets.
///
/// A position-aware graph is the plain ``ComputationGraph`` × these buckets: the edge `s → r` at bucket `b`
/// (named `s@b->r@b`, e.g. `a5.h1@S2->a9.h9<k>@S2`) is the part of `r`'s input that `s` writes at the token
/// positions of bucket `b`. Residual-stream edges never cross positions: a sender's write at position p is
/// read at p. Information moves between positions only inside attention (a head's query at position q reads
/// keys and values at positions ≤ q), so `a5.h1@S2->a9.h9<k>@S2` reaching the answer at `END` goes through
/// the key of `a9.h9` at `S2`, read by its query at `END`. Both ends carry the position so that a name says
/// which position of the receiver's input is read (for a key or value, a key position, not the query
/// positions it affects) and cannot be mistaken for a cross-position edge.
///
/// Buckets are either absolute token positions (`0`, `1`, …; every prompt of one length) or the labels of
/// the task file's `positions` (``PromptPairs/positionLabels``: each example maps `IO`, `S1`, `S2`, `END` to
/// its own token index, so examples of different lengths align). Token positions no label names, padding
/// included, form the catch-all bucket ``otherLabel`` (present only when some token is unnamed), so that
/// every token belongs to exactly one bucket and patching every positional edge is patching every edge.
///
/// Sources: the ACDC blog post's circuits over labelled token positions (Conmy et al. 2023) and auto-circuit's
/// token-position edges (UFO-101/auto-circuit, `tok_pos`), where an edge exists once per sequence position.
public struct PositionBuckets: Equatable, Sendable {
    /// The catch-all bucket: every token position that no label names.
    public static let otherLabel = "other"

    /// The bucket names, in order.
    public let labels: [String]
    /// `[example][position]` → bucket index, over the prompts' padded length.
    public let assignment: [[Int]]

    /// Buckets from an explicit assignment (every entry an index into `labels`).
    public init(labels: [String], assignment: [[Int]]) throws {
        guard !labels.isEmpty, Set(labels).count == labels.count else {
            throw CircuitError.invalidArgument("position buckets need distinct names, got \(labels)")
        }
        guard !assignment.isEmpty, assignment.allSatisfy({ $0.count == assignment[0].count && $0.allSatisfy(labels.indices.contains) }) else {
            throw CircuitError.invalidArgument("a position bucket assignment needs one bucket of \(labels) per token of equally long examples")
        }
        self.labels = labels
        self.assignment = assignment
    }

    /// One bucket per absolute token position, named `0`, `1`, …; every prompt must have the same length.
    public static func absolute(_ pairs: PromptPairs) throws -> PositionBuckets {
        let length = pairs.length
        guard pairs.readPositions.allSatisfy({ $0 == length - 1 }) else {
            throw CircuitError.invalidArgument("per-position circuits need prompts of one length (these have "
                + "\(Set(pairs.readPositions.map { $0 + 1 }).sorted()) tokens); use labelled positions (--positions) instead")
        }
        return try PositionBuckets(labels: (0..<length).map(String.init),
                                   assignment: Array(repeating: Array(0..<length), count: pairs.count))
    }

    /// One bucket per label of ``PromptPairs/positionLabels`` (each example's own index), in the order given,
    /// plus ``otherLabel`` for the tokens no label names when there are any.
    ///
    /// - Throws: when a label is unknown, repeated or named `other`, or two labels name one token of an example.
    public static func labelled(_ names: [String], in pairs: PromptPairs) throws -> PositionBuckets {
        guard !names.isEmpty else { throw CircuitError.invalidArgument("no position labels were given") }
        guard Set(names).count == names.count else { throw CircuitError.invalidArgument("position labels \(names) repeat a label") }
        let unnamed = -1
        var assignment = Array(repeating: Array(repeating: unnamed, count: pairs.length), count: pairs.count)
        for (b, name) in names.enumerated() {
            guard name != otherLabel else {
                throw CircuitError.invalidArgument("'\(otherLabel)' is the catch-all position bucket; it cannot be a label")
            }
            guard let indices = pairs.positionLabels[name] else {
                let known = pairs.positionLabels.keys.sorted()
                throw CircuitError.invalidArgument("position label '\(name)' is not defined for these prompts "
                    + (known.isEmpty ? "(the task file gives no positions)" : "(they have \(known.joined(separator: ", ")))"))
            }
            for (i, p) in indices.enumerated() {
                guard assignment[i][p] == unnamed else {
                    throw CircuitError.invalidArgument("position labels '\(names[assignment[i][p]])' and '\(name)' name the same "
                        + "token (\(p)) of example \(i); each token can be in one position bucket only")
                }
                assignment[i][p] = b
            }
        }
        let needsOther = assignment.contains { $0.contains(unnamed) }
        let labels = names + (needsOther ? [otherLabel] : [])
        return try PositionBuckets(labels: labels, assignment: assignment.map { $0.map { $0 == unnamed ? names.count : $0 } })
    }

    var exampleCount: Int { assignment.count }
    var length: Int { assignment[0].count }

    /// `[examples, pos, 1]`: 1 at the positions where `keep(bucket)` holds, else 0.
    func indicator(where keep: (Int) -> Bool) -> Tensor {
        Tensor(shape: [exampleCount, length, 1], scalars: assignment.flatMap { $0.map { keep($0) ? 1 : 0 } })
    }

    /// `[examples, 1, 1]`: ``indicator(where:)`` at each example's position `positions[i]`.
    func indicator(where keep: (Int) -> Bool, at positions: [Int]) -> Tensor {
        Tensor(shape: [exampleCount, 1, 1], scalars: positions.enumerated().map { keep(assignment[$0][$1]) ? 1 : 0 })
    }
}

extension ComputationGraph {
    /// The number of position buckets: 1 in a plain graph.
    public var positionCount: Int { Swift.max(positions.count, 1) }

    /// Whether edges are per position bucket.
    public var isPositional: Bool { !positions.isEmpty }

    /// The same graph without positions.
    public var unpositioned: ComputationGraph {
        isPositional ? ComputationGraph(layerCount: layerCount, headCount: headCount, keyValueHeadCount: keyValueHeadCount,
                                        hasMLPs: hasMLPs, mlpReadsAttentionOutput: mlpReadsAttentionOutput) : self
    }

    /// The index of an edge in ``edges``.
    public func edgeIndex(of edge: Edge) -> Int {
        edgeOffsets[index(of: edge.receiver)] + index(of: edge.sender) * positionCount + (edge.position ?? 0)
    }

    /// The name of a node at a position bucket, e.g. `a5.h1@S2` (just the node's name in a plain graph).
    public func name(of node: String, at position: Int?) -> String {
        position.map { node + "@" + positions[$0] } ?? node
    }
}
