import Foundation

/// A circuit drawn by layer: `input` at the bottom, one row per layer (its heads side by side, its MLP at
/// the end of the row, raised a little so that edges from its own layer's heads show), `logits` at the top.
///
/// Small circuits are a static drawing (``svg``, also what prints well); large ones (more than
/// ``interactiveEdgeCount`` edges, or always with ``Style/interactive``) an interactive one that reads at
/// thousands of edges: pan and zoom, a threshold slider on |score|, search by node, hover for an edge's
/// score and kind, click a node for its paths to the logits and from the input; its page includes the
/// view's script and style once (``pageAssets``). Both are self-contained: no network, inline code only.
///
/// In the static drawing every node of the graph is drawn: the circuit's nodes bold and labelled, the
/// others faint (they give the layout its bearings, which matters for finding a head in a wide model).
/// Edges run from a sender's top to the receiving input (a head's query, key and value enter at the left,
/// centre and right of its bottom edge), coloured by that input with ``Circuit/colour(_:)``, drawn wider and
/// more opaque for larger |score| (√ of the share of the largest |score|; squared again for width and cubed
/// for opacity above ``crowdedEdgeCount`` edges, so that many weak edges fade), dashed for negative scores,
/// weakest first. Hovering an edge or node shows its name and score.
///
/// ```swift
/// let circuit = Circuit.top(scores, count: 100).pruned()
/// report.addSection("Circuit", figures: [CircuitView(circuit)])                        // chosen by size
/// report.addSection("Circuit", figures: [CircuitView(circuit, style: .static)])       // for printing
/// ```
public struct CircuitView: ReportFigure {
    /// Which drawing the figure's HTML uses.
    public enum Style: String, Sendable, CaseIterable {
        /// Interactive above ``CircuitView/interactiveEdgeCount`` edges, static otherwise.
        case automatic = "auto"
        /// The static SVG drawing, whatever the size.
        case `static`
        /// The interactive view, whatever the size.
        case interactive
    }

    public let circuit: Circuit
    public let style: Style

    public init(_ circuit: Circuit, style: Style = .automatic) {
        self.circuit = circuit
        self.style = style
    }

    private var graph: ComputationGraph { circuit.graph }

    /// Above this many edges, weak edges are drawn thinner and fainter than their share of the largest score.
    public static let crowdedEdgeCount = 60

    /// Above this many edges the automatic style is interactive.
    public static let interactiveEdgeCount = 150

    /// Whether the figure's HTML is the interactive view.
    public var isInteractive: Bool {
        switch style {
        case .automatic: return circuit.edges.count > Self.interactiveEdgeCount
        case .static: return false
        case .interactive: return true
        }
    }

    /// A position-aware circuit is drawn as one panel per position (see `CircuitPositionPanels.swift`).
    public var html: String {
        if graph.isPositional { return positionPanelsHTML }
        return isInteractive ? CircuitExplorer(circuit).html(caption: caption) : svgFigureHTML
    }

    public var pageAssets: [PageAsset] {
        if graph.isPositional { return positionPanels.contains { $0.view.isInteractive } ? [CircuitExplorer.asset] : [] }
        return isInteractive ? [CircuitExplorer.asset] : []
    }

    /// The static drawing's layout: every slot and row fits a page.
    private var layout: CircuitLayout {
        CircuitLayout.fitting(graph, width: 1180, height: 1500, slot: 26...88, row: 52...96)
    }

    /// The static drawing (printable), whatever the style.
    public var svg: String {
        let layout = self.layout
        var svg = SVG()
        let inCircuit = Set(circuit.nodes)
        let strengths = circuit.strengths

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
            var paths = SVG()
            for entry in layout.entries(edge.receiver, from: layout.centre(of: edge.sender).x) {
                paths.path(CircuitLayout.curve(from: layout.exit(edge.sender, towards: entry.x), to: (entry.x, entry.y)),
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
            box(node.name, x: x, y: y, width: node == .input ? layout.endBoxWidth : layout.boxWidth, label: layout.label(of: node))
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
            + "at the left, middle and right of its box. Width and opacity grow with |score|; "
            + (isInteractive ? CircuitExplorer.instructions : "dashed edges have negative scores.")
        let details = circuit.metadata.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        if !details.isEmpty { text += " " + details.joined(separator: ", ") + "." }
        return text
    }
}
