/// Where a computational graph's nodes and edges go in a circuit drawing: `input` at the bottom, one row per
/// layer (its heads side by side, its MLP at the end of the row, raised a little so that edges from its own
/// layer's heads show), `logits` at the top. Edges are curves from a sender's top to the receiving input
/// (a head's query, key and value enter at the left, centre and right of its bottom edge); a grouped key
/// or value input is entered in every head of its group.
///
/// Shared by the static ``CircuitView`` drawing and its interactive form.
struct CircuitLayout {
    let graph: ComputationGraph
    let slot: Double, row: Double, boxWidth: Double, boxHeight: Double, left = 44.0, top: Double
    let layers: Int, slots: Int
    var mlpRaise: Double { row * 0.45 }

    init(graph: ComputationGraph, slot: Double, row: Double, boxHeight: Double = 22, top: Double = 24) {
        self.graph = graph
        layers = graph.layerCount
        slots = graph.headCount + (graph.hasMLPs ? 1 : 0)
        self.slot = slot
        self.row = row
        self.boxHeight = boxHeight
        self.top = top
        boxWidth = slot - 8
    }

    /// A layout whose slots share about `width` points and whose rows share about `height`, within bounds.
    static func fitting(_ graph: ComputationGraph, width: Double, height: Double, slot: ClosedRange<Double>,
                        row: ClosedRange<Double>, boxHeight: Double = 22, top: Double = 24) -> CircuitLayout {
        let slots = Double(graph.headCount + (graph.hasMLPs ? 1 : 0)), rows = Double(graph.layerCount + 2)
        return CircuitLayout(graph: graph, slot: (width / slots).rounded(.down).clamped(to: slot),
                             row: (height / rows).rounded(.down).clamped(to: row), boxHeight: boxHeight, top: top)
    }

    var width: Double { left + Double(slots) * slot + 12 }
    var centre: Double { left + Double(slots) * slot / 2 }
    /// The centre height of layer `l`'s heads; `-1` is the input row, `layers` the logits row.
    func y(layer: Int) -> Double { top + boxHeight / 2 + row * Double(layers - layer) }
    var endBoxWidth: Double { Swift.min(Double(slots) * slot, Swift.max(160, Double(slots) * slot * 0.6)) }

    /// The centre of a sender's box.
    func centre(of node: ComputationGraph.Sender) -> (x: Double, y: Double) {
        switch node {
        case .input: return (centre, y(layer: -1))
        case let .head(l, h): return (left + (Double(h) + 0.5) * slot, y(layer: l))
        case let .mlp(l): return (left + (Double(slots) - 0.5) * slot, y(layer: l) - mlpRaise)
        }
    }

    /// The centre of the logits box.
    var logitsCentre: (x: Double, y: Double) { (centre, y(layer: layers)) }

    /// Where an edge leaves its sender, aimed at `targetX` (the input box is wide).
    func exit(_ sender: ComputationGraph.Sender, towards targetX: Double) -> (x: Double, y: Double) {
        let (x, y) = centre(of: sender)
        guard sender == .input else { return (x, y - boxHeight / 2) }
        let half = endBoxWidth / 2 - 6
        return (Swift.min(Swift.max(targetX, x - half), x + half), y - boxHeight / 2)
    }

    /// The nodes a receiver belongs to (nil for the logits) and where each is entered from `senderX`.
    func entries(_ receiver: ComputationGraph.Receiver, from senderX: Double) -> [(node: ComputationGraph.Sender?, x: Double, y: Double)] {
        let quarter = boxWidth / 4
        switch receiver {
        case .logits:
            let half = endBoxWidth / 2 - 6
            return [(nil, Swift.min(Swift.max(senderX, centre - half), centre + half), y(layer: layers) + boxHeight / 2)]
        case let .mlp(l):
            let (x, y) = centre(of: .mlp(layer: l))
            return [(.mlp(layer: l), x, y + boxHeight / 2)]
        case .query, .key, .value:
            let offset: Double
            switch receiver {
            case .query: offset = -quarter
            case .key: offset = 0
            default: offset = quarter
            }
            return graph.nodes(reading: receiver).map { node in
                let (x, y) = centre(of: node)
                return (node, x + offset, y + boxHeight / 2)
            }
        }
    }

    /// The drawn path of an edge: one curve per entered node, leaving the sender straight up and entering
    /// each node straight from below; `reach` (0...1) is how far along the height each end keeps its
    /// direction, so larger values bundle edges that share a sender or a receiver for longer.
    func path(of edge: ComputationGraph.Edge, reach: Double = 0.5) -> String {
        let senderX = centre(of: edge.sender).x
        return entries(edge.receiver, from: senderX).map { entry in
            Self.curve(from: exit(edge.sender, towards: entry.x), to: (entry.x, entry.y), reach: reach)
        }.joined(separator: " ")
    }

    static func curve(from a: (x: Double, y: Double), to b: (x: Double, y: Double), reach: Double) -> String {
        let bend = Swift.max(18, (a.y - b.y) * reach)
        return "M\(SVG.number(a.x)),\(SVG.number(a.y))C\(SVG.number(a.x)),\(SVG.number(a.y - bend)) "
            + "\(SVG.number(b.x)),\(SVG.number(b.y + bend)) \(SVG.number(b.x)),\(SVG.number(b.y))"
    }

    /// A node's short label: `a3.h7` / `m3` where the slot is wide enough, else `7` / `M`.
    func label(of node: ComputationGraph.Sender) -> String {
        switch node {
        case .input: return "input (embeddings)"
        case let .head(l, h): return slot >= 40 ? "a\(l).h\(h)" : "\(h)"
        case let .mlp(l): return slot >= 40 ? "m\(l)" : "M"
        }
    }
}

private extension Double {
    func clamped(to range: ClosedRange<Double>) -> Double { Swift.min(Swift.max(self, range.lowerBound), range.upperBound) }
}
