/// Node estimates of attribution patching from one set of gradients at the target run: the linear products
/// `(n(source) − n(target)) · ∂m/∂n` summed over the node's activations, or, for queries and keys with the QK
/// fix, the exact-pattern effects of ``AttentionQKFix``. ``AtPStar`` calls it with the plain gradients and
/// with each GradDrop gradient.
struct LayerEstimator {
    let model: TransformerModel
    /// Whether queries and keys are read after the rotary embedding (`hook_rot_q` / `hook_rot_k`).
    let rotary: Bool
    /// The target and source runs' activations by hook name.
    let target: [String: Tensor]
    let source: [String: Tensor]
    /// The target run's attention context (its causal and padding mask).
    let mask: AttentionContext

    /// The estimate of each node from `gradients` (by hook name; a missing gradient counts as zero).
    func estimates(_ nodes: [AttributionNode], gradients: [String: Tensor], qkFix: Bool) -> [Double] {
        var cells: [String: Cells] = [:]
        var patternEffects: [Int: AttentionQKFix.Effects] = [:]
        return nodes.map { node in
            if qkFix && (node.kind == .query || node.kind == .key) {
                guard let effects = patternEffects[node.layer] ?? qkEffects(layer: node.layer, gradients: gradients) else { return 0 }
                patternEffects[node.layer] = effects
                if node.kind == .query {
                    return node.position.map { effects.query[node.index][$0] } ?? effects.query[node.index].reduce(0, +)
                }
                return node.position.map { effects.key[node.index][$0] } ?? effects.keyAllPositions[node.index]
            }
            let name = node.point(rotary: rotary).name
            guard let nodeCells = cells[name] ?? linearCells(name, kind: node.kind, gradients: gradients) else { return 0 }
            cells[name] = nodeCells
            return nodeCells.value(unit: node.kind == .mlp ? 0 : node.index, position: node.position)
        }
    }

    /// `Σ_batch (source − target) · gradient` per position and unit (head or neuron; one unit for a whole MLP).
    struct Cells {
        let scalars: [Float]
        let positions: Int
        let units: Int

        func value(unit: Int, position: Int?) -> Double {
            if let position { return Double(scalars[position * units + unit]) }
            return (0..<positions).reduce(0) { $0 + Double(scalars[$1 * units + unit]) }
        }
    }

    func linearCells(_ name: String, kind: AttributionNode.Kind, gradients: [String: Tensor]) -> Cells? {
        guard let gradient = gradients[name], let source = source[name], let target = target[name] else { return nil }
        var product = ((source - target) * gradient).sum(axis: 0)
        // Heads: [pos, heads, headDim] -> [pos, heads]; a whole MLP: [pos, dModel] -> [pos]; neurons stay [pos, neurons].
        if kind != .neuron { product = product.sum(axis: product.rank - 1) }
        return Cells(scalars: product.scalars, positions: product.shape[0], units: product.rank > 1 ? product.shape[1] : 1)
    }

    func qkEffects(layer: Int, gradients: [String: Tensor]) -> AttentionQKFix.Effects? {
        let attention = model.blocks[layer].attention
        let q = AttributionNode(kind: .query, layer: layer).point(rotary: rotary).name
        let k = AttributionNode(kind: .key, layer: layer).point(rotary: rotary).name
        guard let patternGradient = gradients[HookPoint.pattern(layer).name], let targetQueries = target[q],
              let sourceQueries = source[q], let targetKeys = target[k], let sourceKeys = source[k] else { return nil }
        let fix = AttentionQKFix(heads: attention.heads, keyValueHeads: attention.keyValueHeads, headDim: attention.headDim,
                                 scale: attention.scale, softcap: attention.softcap)
        return fix.effects(targetQueries: targetQueries, sourceQueries: sourceQueries, targetKeys: targetKeys,
                           sourceKeys: sourceKeys, patternGradient: patternGradient,
                           mask: mask.additiveMask(slidingWindow: attention.slidingWindow))
    }
}
