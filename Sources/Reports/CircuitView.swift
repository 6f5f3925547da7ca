import Foundation

/// A circuit drawn by layer: `input` at the bottom, one row per layer (its heads side by side, its MLP at
/// the end of the row, raised a little so that edges from its own layer's heads show), `logits` at the top.
///
/// Every node of the graph is drawn: the circuit's nodes bold and labelled, the others faint (they give
/// the layout its bearings, which matters for finding a head in a wide model). Edges run from a sender's
/// top to the receiving input (a head's query, key and value enter at the left, centre and right of its
/// bottom edge), coloured by that input with ``Circuit/colour(_:)``, drawn wider and more opaque for larger
/// |score| (√ of the share of the largest |score|; squared again for width and cubed for opacity above
/// ``crowdedEdgeCount`` edges, so that many weak edges fade), dashed for negative scores, weakest first.
/// Hovering an edge or node shows its name and score.
///
/// ```swift
/// let circuit = Circuit.top(scores, count: 100).pruned()
/// report.addSection("Circuit", figures: [CircuitView(circuit)])
/// ```
public struct CircuitView: ReportFigure {
    public let circuit: Circuit

    public init(_ circuit: Circuit) {
        self.circuit = circuit
    }

    private var graph: ComputationGraph { circuit.graph }

    /// Above this many edges, weak edges are drawn thinner and fainter than their share of the largest score.
    public static let crowdedEdgeCount = 60

    /// Layout: slot width, row spacing, box size, margins.
    private struct Layout {
        let slot: Double, row: Double, boxWidth: Double, boxHeight = 22.0, left = 44.0, top = 24.0
        let layers: Int, slots: Int
        var mlpRaise: Double { row * 0.45 }

        init(graph: ComputationGraph) {
            layers = graph.layerCount
            slots = graph.headCount + (graph.hasMLPs ? 1 : 0)
            slot = Swift.min(88, Swift.max(26, (1180 / Double(slots)).rounded(.down)))
            row = Swift.min(96, Swift.max(52, (1500 / Double(layers + 2)).rounded(.down)))
            boxWidth = slot - 8
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
    }

    /// Where an edge leaves its sender, aimed at `targetX` (the input box is wide).
    private func exit(_ sender: ComputationGraph.Sender, towards targetX: Double, _ layout: Layout) -> (Double, Double) {
        let (x, y) = layout.centre(of: sender)
        guard sender == .input else { return (x, y - layout.boxHeight / 2) }
        let half = layout.endBoxWidth / 2 - 6
        return (Swift.min(Swift.max(targetX, x - half), x + half), y - layout.boxHeight / 2)
    }

    /// The points where a receiver is entered (several heads share a grouped key or value input).
    private func entries(_ receiver: ComputationGraph.Receiver, from senderX: Double, _ layout: Layout) -> [(Double, Double)] {
        let quarter = layout.boxWidth / 4
        switch receiver {
        case .logits:
            let centreX = layout.centre, half = layout.endBoxWidth / 2 - 6
            return [(Swift.min(Swift.max(senderX, centreX - half), centreX + half), layout.y(layer: layout.layers) + layout.boxHeight / 2)]
        case let .mlp(l):
            let (x, y) = layout.centre(of: .mlp(layer: l))
            return [(x, y + layout.boxHeight / 2)]
        case .query, .key, .value:
            let offset: Double
            switch receiver {
            case .query: offset = -quarter
            case .key: offset = 0
            default: offset = quarter
            }
            return graph.nodes(reading: receiver).map { node in
                let (x, y) = layout.centre(of: node)
                return (x + offset, y + layout.boxHeight / 2)
            }
        }
    }

    private static func curve(from a: (Double, Double), to b: (Double, Double)) -> String {
        let bend = Swift.max(18, (a.1 - b.1) * 0.5)
        return "M\(SVG.number(a.0)),\(SVG.number(a.1))C\(SVG.number(a.0)),\(SVG.number(a.1 - bend)) "
            + "\(SVG.number(b.0)),\(SVG.number(b.1 + bend)) \(SVG.number(b.0)),\(SVG.number(b.1))"
    }

    /// Relative strength in `[0, 1]` of each circuit edge (0.5 for an edge without a score).
    private var strengths: [ComputationGraph.Edge: Double] {
        let largest = circuit.edges.compactMap { circuit.scores[$0].map { Swift.abs(Double($0)) } }.max() ?? 0
        return Dictionary(uniqueKeysWithValues: circuit.edges.map { edge in
            (edge, circuit.scores[edge].map { largest > 0 ? (Swift.abs(Double($0)) / largest).squareRoot() : 1 } ?? 0.5)
        })
    }

    public var svg: String {
        let layout = Layout(graph: graph)
        var svg = SVG()
        let inCircuit = Set(circuit.nodes)
        let strengths = self.strengths

        for l in 0..<layout.layers {
            let y = layout.y(layer: l)
            svg.line(x1: layout.left - 4, y1: y + layout.boxHeight / 2 + 4, x2: layout.width - 12, y2: y + layout.boxHeight / 2 + 4,
                     stroke: "#f0f0f0")
            svg.text("L\(l)", x: layout.left - 10, y: y, anchor: .end, colour: "#777777")
        }

        // Past `crowded` edges, weak edges thin and fade faster so that the strong ones stay legible.
        let crowded = circuit.edges.count > Self.crowdedEdgeCount
        let ordered = circuit.edges.sorted { strengths[$0]! < strengths[$1]! || (strengths[$0]! == strengths[$1]! && graph.name(of: $0) < graph.name(of: $1)) }
        for edge in ordered {
            let strength = strengths[edge]!
            let senderX = layout.centre(of: edge.sender).x
            var paths = SVG()
            for entry in entries(edge.receiver, from: senderX, layout) {
                paths.path(Self.curve(from: exit(edge.sender, towards: entry.0, layout), to: entry),
                           stroke: Circuit.colour(edge.receiver), width: 0.5 + 4.5 * pow(strength, crowded ? 2 : 1),
                           opacity: 0.15 + 0.75 * pow(strength, crowded ? 3 : 1),
                           dash: (circuit.scores[edge] ?? 0) < 0 ? "5 3" : nil)
            }
            let score = circuit.scores[edge].map { ": score \(SVG.value($0))" } ?? ""
            svg.append(paths, className: "edge", title: graph.name(of: edge) + score)
        }

        func box(_ name: String, x: Double, y: Double, width: Double, label: String) {
            let bold = inCircuit.contains(name)
            svg.rect(x: x - width / 2, y: y - layout.boxHeight / 2, width: width, height: layout.boxHeight,
                     fill: bold ? "#ffffff" : "#f6f6f6", stroke: bold ? "#333333" : "#dddddd", strokeWidth: bold ? 1.4 : 0.8,
                     radius: 4, className: bold ? "node" : "node faint", title: name)
            svg.text(label, x: x, y: y, anchor: .middle, size: 10, bold: bold, colour: bold ? "#111111" : "#c4c4c4")
        }
        for node in graph.senders {
            let (x, y) = layout.centre(of: node)
            switch node {
            case .input: box("input", x: x, y: y, width: layout.endBoxWidth, label: "input (embeddings)")
            case let .head(l, h): box(node.name, x: x, y: y, width: layout.boxWidth, label: layout.slot >= 40 ? "a\(l).h\(h)" : "\(h)")
            case let .mlp(l): box(node.name, x: x, y: y, width: layout.boxWidth, label: layout.slot >= 40 ? "m\(l)" : "M")
            }
        }
        box("logits", x: layout.centre, y: layout.y(layer: layout.layers), width: layout.endBoxWidth, label: "logits")

        let legendY = layout.y(layer: -1) + layout.boxHeight / 2 + 22
        var x = layout.left
        let kinds: [(String, ComputationGraph.Receiver)] = [("query", .query(layer: 0, head: 0)), ("key", .key(layer: 0, group: 0)),
                                                           ("value", .value(layer: 0, group: 0))]
            + (graph.hasMLPs ? [("MLP input", .mlp(layer: 0))] : []) + [("logits", .logits)]
        for (label, receiver) in kinds {
            svg.line(x1: x, y1: legendY, x2: x + 22, y2: legendY, stroke: Circuit.colour(receiver), width: 3)
            svg.text(label, x: x + 27, y: legendY, colour: "#444444")
            x += 27 + Double(label.count) * SVG.sansAdvance + 18
        }
        svg.line(x1: x, y1: legendY, x2: x + 22, y2: legendY, stroke: "#666666", width: 2, dash: "5 3")
        svg.text("negative score", x: x + 27, y: legendY, colour: "#444444")
        x += 27 + 14 * SVG.sansAdvance + 18
        svg.text("width, opacity ∝ |score|", x: x, y: legendY, colour: "#444444")
        svg.text(circuit.summary(), x: 0, y: 8, bold: true)
        return svg.rendered(width: Swift.max(layout.width, x + 150), height: legendY + 14, label: "circuit")
    }

    public var caption: String {
        var text = circuit.summary() + ". Rows are layers (input at the bottom, logits at the top); circuit nodes are bold, "
            + "the rest of the graph faint. Edge colour: the input fed (query, key, value, MLP, logits); a head's q, k, v enter "
            + "at the left, middle and right of its box. Width and opacity grow with |score|; dashed edges have negative scores."
        let details = circuit.metadata.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        if !details.isEmpty { text += " " + details.joined(separator: ", ") + "." }
        return text
    }
}
