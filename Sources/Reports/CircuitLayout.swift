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

    /// The drawn path of an edge in the interactive view, one line per entered node, never through a box:
    /// an edge to the next row is one curve; a longer one runs up a lane, the gap beside a column, joining it
    /// in the gap above the sender's row and leaving it in the gap below the receiver's. The lane is the
    /// sender's (right of a head's column, left of the MLP column), so that edges leaving one node travel as
    /// one bundle; edges from the input and into an MLP use the receiver's lane instead.
    func routedPath(of edge: ComputationGraph.Edge) -> String {
        let gap = row - boxHeight
        return entries(edge.receiver, from: lane(of: edge, entering: nil)).map { entry in
            let a = exit(edge.sender, towards: entry.x), b = (x: entry.x, y: entry.y)
            guard a.y - b.y > gap + 1 else { return Self.curve(from: a, to: b) }
            let x = lane(of: edge, entering: entry.node), jog = Swift.min(gap, (a.y - b.y) / 2)
            return "M\(SVG.number(a.x)),\(SVG.number(a.y))C\(SVG.number(a.x)),\(SVG.number(a.y - jog / 2)) "
                + "\(SVG.number(x)),\(SVG.number(a.y - jog / 2)) \(SVG.number(x)),\(SVG.number(a.y - jog))"
                + "L\(SVG.number(x)),\(SVG.number(b.y + jog))C\(SVG.number(x)),\(SVG.number(b.y + jog / 2)) "
                + "\(SVG.number(b.x)),\(SVG.number(b.y + jog / 2)) \(SVG.number(b.x)),\(SVG.number(b.y))"
        }.joined(separator: " ")
    }

    /// The lane an edge climbs (see ``routedPath(of:)``); `node` is the entered node (nil: the logits, or
    /// not yet known, when the sender's lane is given).
    private func lane(of edge: ComputationGraph.Edge, entering node: ComputationGraph.Sender?) -> Double {
        func lane(_ sender: ComputationGraph.Sender) -> Double {
            switch sender {
            case .input: return left
            case .head: return centre(of: sender).x + slot / 2
            case .mlp: return centre(of: sender).x - slot / 2
            }
        }
        if case .mlp(let l) = edge.receiver { return lane(.mlp(layer: l)) }
        if edge.sender == .input, let node { return lane(node) }
        return lane(edge.sender)
    }

    /// A curve leaving `a` straight up and entering `b` straight from below.
    static func curve(from a: (x: Double, y: Double), to b: (x: Double, y: Double)) -> String {
        let bend = Swift.max(18, (a.y - b.y) * 0.5)
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
