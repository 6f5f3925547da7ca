import Foundation

/// The interactive form of ``CircuitView``, for circuits of hundreds to thousands of edges.
///
/// The drawing is made here (layers as rows, every node of the graph placed, the circuit's nodes bold)
/// and carries its data on its elements; ``CircuitExplorerScript`` only adds behaviour:
///
/// - each edge is one `<path class="cx-edge">` (one curve per entered head of a grouped key or value
///   input) with `data-rank` (0 = largest |score|, the order in which the threshold slider reveals edges),
///   `data-name` (`a3.h1->a7.h2<q>`), `data-kind` (`q`, `k`, `v`, `mlp`, `logits`), `data-score` (the score
///   as written by Swift, empty when the edge has none), `data-from` and `data-to` (node ids);
/// - each node is one `<g class="cx-node">` with `data-id`, `data-name` and its centre `data-x`, `data-y`;
/// - the figure holds `data-edges` (the count) and `data-initial` (how many edges show at first).
///
/// Edges are written weakest first so that the strongest are drawn on top; without scripts every edge shows.
struct CircuitExplorer {
    let circuit: Circuit

    init(_ circuit: Circuit) {
        self.circuit = circuit
    }

    /// How many of the strongest edges show when the page opens (all of them in smaller circuits).
    static let initialEdgeCount = 250

    static let asset = PageAsset(stylesheet: CircuitExplorerScript.stylesheet, script: CircuitExplorerScript.script)

    static let instructions = "dashed edges have negative scores. Drag to pan, scroll or use + and − to zoom; the slider "
        + "sets how many of the strongest edges show (the |score| threshold is printed next to it); hover an edge for its "
        + "score and kind; type a node's name (a12.h3, m5) and press Enter to find it; click a node to show only its paths "
        + "to the logits and from the input, click the background to clear."

    /// The kind of input an edge feeds, as the view names it.
    static func kind(_ receiver: ComputationGraph.Receiver) -> String {
        switch receiver {
        case .query: return "q"
        case .key: return "k"
        case .value: return "v"
        case .mlp: return "mlp"
        case .logits: return "logits"
        }
    }

    /// A score as the script reads it back exactly (`Number(text)`): Swift's shortest round-trip digits,
    /// `NaN`, `Infinity`, `-Infinity`.
    static func scoreText(_ score: Float) -> String {
        if score.isNaN { return "NaN" }
        if score.isInfinite { return score > 0 ? "Infinity" : "-Infinity" }
        return "\(score)"
    }

    private var graph: ComputationGraph { circuit.graph }

    /// Rows 46 points apart whatever the depth (the view zooms), slots shared across about 1,200 points.
    var layout: CircuitLayout {
        CircuitLayout.fitting(graph, width: 1200, height: 46 * Double(graph.layerCount + 2), slot: 64...120, row: 46...46,
                              boxHeight: 24, top: 16)
    }

    /// The size labels are written at; the script scales them with the zoom, centred on their box
    /// (`dominant-baseline: central`), so each is placed at its centre less the shift ``SVG/text`` adds.
    private static let labelSize = 10.0

    /// Node ids: the index in ``ComputationGraph/senders``, then the logits.
    private var logitsID: Int { graph.senders.count }

    /// The figure: controls, the drawing and the caption.
    func html(caption: String) -> String {
        let count = circuit.edges.count
        let kinds: [(String, ComputationGraph.Receiver)] = [("q", .query(layer: 0, head: 0)), ("k", .key(layer: 0, group: 0)),
                                                            ("v", .value(layer: 0, group: 0))]
            + (graph.hasMLPs ? [("MLP", .mlp(layer: 0))] : []) + [("logits", .logits)]
        let swatches = kinds.map { "<span><i style=\"background:\(Circuit.colour($1))\"></i>\($0)</span>" }
        return """
        <figure class="circuit-explorer" data-edges="\(count)" data-initial="\(Swift.min(count, Self.initialEdgeCount))">
        <div class="cx-bar">
        <label>strongest edges <input type="range" class="cx-slider" min="0" max="1000" step="1" value="1000" aria-label="how many of the strongest edges show"></label>
        <output class="cx-status">\(count) of \(count) edges</output>
        <input type="search" class="cx-search" placeholder="find a node: a12.h3, m5" aria-label="find a node">
        <button type="button" data-action="zoom-in" title="zoom in">+</button><button type="button" data-action="zoom-out" title="zoom out">−</button><button type="button" data-action="fit">fit</button><button type="button" data-action="clear">clear</button>
        <span class="cx-legend">\(swatches.joined())<span><i class="cx-dash"></i>negative</span></span>
        </div>
        <div class="cx-viewport">
        \(drawing)
        <div class="cx-tooltip" hidden></div>
        </div>
        <figcaption>\(Markup.escape(caption))</figcaption>
        </figure>
        """
    }

    /// The SVG: row guides, edges weakest first, then nodes.
    var drawing: String {
        let layout = self.layout
        var grid = SVG(), edges = SVG(), nodes = SVG()
        for l in 0..<layout.layers {
            let y = layout.y(layer: l)
            grid.line(x1: layout.left - 4, y1: y + layout.boxHeight / 2 + 4, x2: layout.width - 12, y2: y + layout.boxHeight / 2 + 4,
                      stroke: "#eeeeee")
            grid.text("L\(l)", x: layout.left - 10, y: y - 0.35 * Self.labelSize, anchor: .end, size: Self.labelSize, colour: "#888888")
        }

        let strengths = circuit.strengths
        let ranked = circuit.rankedEdges
        for (rank, edge) in ranked.enumerated().reversed() {
            let strength = strengths[edge]!, score = circuit.scores[edge]
            let targets = layout.entries(edge.receiver, from: layout.centre(of: edge.sender).x).map { $0.node.map(graph.index(of:)) ?? logitsID }
            edges.element("path", [
                ("class", "cx-edge"), ("d", layout.routedPath(of: edge)), ("fill", "none"), ("stroke", Circuit.colour(edge.receiver)),
                ("stroke-width", SVG.number(0.6 + 3.4 * strength * strength)),
                ("stroke-opacity", String(format: "%.2f", 0.12 + 0.78 * pow(strength, 3))),
                ("stroke-dasharray", (score ?? 0) < 0 ? "4 3" : nil),
                ("data-rank", "\(rank)"), ("data-name", graph.name(of: edge)), ("data-kind", Self.kind(edge.receiver)),
                ("data-score", score.map(Self.scoreText) ?? ""), ("data-from", "\(graph.index(of: edge.sender))"),
                ("data-to", targets.map(String.init).joined(separator: " ")),
            ])
        }

        let inCircuit = Set(circuit.nodes)
        func node(_ id: Int, name: String, label: String, centre: (x: Double, y: Double), width: Double) {
            var box = SVG()
            box.rect(x: centre.x - width / 2, y: centre.y - layout.boxHeight / 2, width: width, height: layout.boxHeight,
                     fill: "#ffffff", radius: 4)
            box.text(label, x: centre.x, y: centre.y - 0.35 * Self.labelSize, anchor: .middle, size: Self.labelSize)
            nodes.group(box, [("class", inCircuit.contains(name) ? "cx-node cx-in" : "cx-node"), ("data-id", "\(id)"),
                              ("data-name", name), ("data-x", SVG.number(centre.x)), ("data-y", SVG.number(centre.y))])
        }
        for (id, sender) in graph.senders.enumerated() {
            node(id, name: sender.name, label: layout.label(of: sender), centre: layout.centre(of: sender),
                 width: sender == .input ? layout.endBoxWidth : layout.boxWidth)
        }
        node(logitsID, name: "logits", label: "logits", centre: layout.logitsCentre, width: layout.endBoxWidth)

        let height = layout.y(layer: -1) + layout.boxHeight / 2 + 12
        var scene = SVG()
        scene.append(grid, className: "cx-grid")
        scene.append(edges, className: "cx-edges")
        scene.append(nodes, className: "cx-nodes")
        var svg = SVG()
        svg.append(scene, className: "cx-scene")
        return svg.rendered(width: layout.width, height: height, label: circuit.summary(), className: "cx-canvas")
    }
}
