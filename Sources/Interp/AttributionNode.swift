/// A node of node-level attribution (AtP, AtP*): one head's output, query, key or value, a whole MLP or one MLP
/// neuron, at one position or at every position.
///
/// Names follow the circuit graph's: `a3.h1` (head output, `attn.hook_z`), `a3.h1<q>`, `a3.h1<k>`, `a3.h1<v>`
/// (`a3.kv0<k>` with grouped-query heads), `m2` (`hook_mlp_out`), `m2.n17` (`mlp.hook_post` neuron 17), with
/// `@5` appended for a node at position 5 only.
public struct AttributionNode: Hashable, Sendable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case head, query, key, value, mlp, neuron
    }

    public let kind: Kind
    public let layer: Int
    /// The head (query head for ``Kind/head`` and ``Kind/query``, key-value head for ``Kind/key`` and
    /// ``Kind/value``) or the neuron; 0 for a whole MLP.
    public let index: Int
    /// The one position patched, or nil for every position.
    public let position: Int?

    public init(kind: Kind, layer: Int, index: Int = 0, position: Int? = nil) {
        self.kind = kind
        self.layer = layer
        self.index = index
        self.position = position
    }

    /// The node's name; `groupedQuery` names key-value heads `kv{g}`.
    public func name(groupedQuery: Bool) -> String {
        let base: String
        switch kind {
        case .head: base = "a\(layer).h\(index)"
        case .query: base = "a\(layer).h\(index)<q>"
        case .key: base = "a\(layer).\(groupedQuery ? "kv" : "h")\(index)<k>"
        case .value: base = "a\(layer).\(groupedQuery ? "kv" : "h")\(index)<v>"
        case .mlp: base = "m\(layer)"
        case .neuron: base = "m\(layer).n\(index)"
        }
        return position.map { "\(base)@\($0)" } ?? base
    }

    /// The hook point the node is patched at. Queries and keys are taken as they enter the dot product: after
    /// the rotary embedding (`hook_rot_q` / `hook_rot_k`) when the model has one.
    public func point(rotary: Bool) -> HookPoint {
        switch kind {
        case .head: return .z(layer)
        case .query: return rotary ? .rotQ(layer) : .q(layer)
        case .key: return rotary ? .rotK(layer) : .k(layer)
        case .value: return .v(layer)
        case .mlp: return .mlpOut(layer)
        case .neuron: return .mlpPost(layer)
        }
    }

    /// A 0/1 mask `[examples, positions or 1, heads or neurons or 1, 1...]` over the activation at ``point(rotary:)``
    /// of shape `shape`, selecting this node (for ``ActivationPatching/patchedMetrics(at:masks:)``).
    func mask(activationShape shape: [Int]) -> Tensor {
        var maskShape = [Int](repeating: 1, count: shape.count)
        maskShape[0] = shape[0]
        if position != nil { maskShape[1] = shape[1] }
        let unitAxis: Int? = kind == .mlp ? nil : 2
        if let unitAxis { maskShape[unitAxis] = shape[unitAxis] }
        return Tensor.build(shape: maskShape) { out in
            let units = unitAxis.map { maskShape[$0] } ?? 1
            for i in 0..<out.count {
                let unit = i % units, p = (i / units) % maskShape[1]
                out[i] = (unitAxis == nil || unit == index) && (position == nil || p == position!) ? 1 : 0
            }
        }
    }
}
