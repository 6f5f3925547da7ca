import TestModels
import Foundation
import Testing
import Reports

/// The interactive circuit view: what the page carries (the browser side is checked by
/// scripts/check_circuit_view.sh in headless Chromium).
@Suite struct CircuitExplorerTests {
    /// The drawing inside an interactive figure's HTML, parsed.
    static func drawing(_ html: String) throws -> SVGInspector {
        let start = try #require(html.range(of: "<svg ")), end = try #require(html.range(of: "</svg>"))
        return try SVGInspector(String(html[start.lowerBound..<end.upperBound]))
    }

    /// The kind of input an edge feeds, read from its name (`a0.h1->a2.h3<q>`, `m1->m2`, `a3.h0->logits`), not
    /// from the view's own mapping.
    static func kind(ofEdgeNamed name: String) -> String {
        if name.hasSuffix("->logits") { return "logits" }
        for kind in ["q", "k", "v"] where name.hasSuffix("<\(kind)>") { return kind }
        return "mlp"
    }

    /// A circuit of the given edges of a small graph, scored by position in the graph's edge list.
    static func smallCircuit(edgeCount: Int) -> Circuit {
        let graph = ComputationGraph(layerCount: 12, headCount: 12)
        let edges = Array(graph.edges.enumerated().filter { $0.offset % 7 == 0 }.prefix(edgeCount))
        return Circuit(graph: graph, edges: Set(edges.map(\.element)),
                       scores: Dictionary(uniqueKeysWithValues: edges.map { ($0.element, Float($0.offset) / 1000) }))
    }

    @Test func styleIsChosenBySizeUnlessForced() throws {
        let small = Self.smallCircuit(edgeCount: CircuitView.interactiveEdgeCount)
        let large = Self.smallCircuit(edgeCount: CircuitView.interactiveEdgeCount + 1)
        #expect(small.edges.count == 150 && large.edges.count == 151)
        let staticView = CircuitView(small)
        #expect(!staticView.isInteractive)
        #expect(staticView.html == staticView.svgFigureHTML)
        #expect(staticView.pageAssets.isEmpty)
        #expect(!staticView.html.contains("circuit-explorer"))

        let interactive = CircuitView(large)
        #expect(interactive.isInteractive)
        #expect(interactive.html.hasPrefix("<figure class=\"circuit-explorer\""))
        #expect(interactive.pageAssets.count == 1)
        #expect(interactive.svg == CircuitView(large, style: .static).svg)   // the printable drawing stays available

        #expect(CircuitView(small, style: .interactive).isInteractive)
        #expect(CircuitView(large, style: .static).html == CircuitView(large, style: .static).svgFigureHTML)
        #expect(CircuitView.Style(rawValue: "auto") == .automatic)
    }

    @Test func everyEdgeIsDrawnOnceWithItsRankKindScoreAndNodes() throws {
        let circuit = Sample.deepCircuit()
        let graph = circuit.graph
        #expect(graph.edges.count == 70_651)
        let html = CircuitView(circuit).html
        #expect(html.contains("data-edges=\"2000\" data-initial=\"250\""))
        let svg = try Self.drawing(html)
        let paths = svg.elements("path", className: "cx-edge")
        #expect(paths.count == circuit.edges.count)
        let byName = graph.edgesByName()
        let nodeID = Dictionary(uniqueKeysWithValues: graph.senders.enumerated().map { ($1, $0) })
        var seen = Set<ComputationGraph.Edge>(), ranked: [(rank: Int, edge: ComputationGraph.Edge)] = []
        for path in paths {
            let edge = try #require(byName[path.attributes["data-name"] ?? ""])
            #expect(circuit.edges.contains(edge))
            #expect(seen.insert(edge).inserted)
            #expect(path.attributes["data-kind"] == Self.kind(ofEdgeNamed: path.attributes["data-name"] ?? ""))
            #expect(path.attributes["stroke"] == Circuit.colour(edge.receiver))
            if let score = circuit.scores[edge] {
                #expect(Float(path.attributes["data-score"]!) == score)
            } else {
                #expect(path.attributes["data-score"] == "")
            }
            #expect(path.attributes["data-from"] == "\(nodeID[edge.sender]!)")
            let targets = edge.receiver == .logits ? [graph.senders.count] : graph.nodes(reading: edge.receiver).map { nodeID[$0]! }
            #expect(path.attributes["data-to"] == targets.map(String.init).joined(separator: " "))
            // One curve per entered node: a grouped key or value input enters the three heads of its group.
            #expect(path.attributes["d"]!.filter { $0 == "M" }.count == targets.count)
            ranked.append((Int(path.attributes["data-rank"]!)!, edge))
        }
        #expect(seen == circuit.edges)

        // Ranks are 0..<n, written weakest first; by rank, |score| never grows (ties by name), unscored last:
        // so the first k ranks are the k edges a threshold on |score| admits.
        #expect(ranked.map(\.rank) == Array((0..<ranked.count).reversed()))
        let order = ranked.sorted { $0.rank < $1.rank }.map(\.edge)
        let keys = order.map { circuit.scores[$0].map { Swift.abs($0) } }
        #expect(keys.suffix(5).allSatisfy { $0 == nil } && keys.dropLast(5).allSatisfy { $0 != nil })
        for (a, b) in zip(order.dropLast(5), order.dropLast(5).dropFirst()) {
            let (x, y) = (Swift.abs(circuit.scores[a]!), Swift.abs(circuit.scores[b]!))
            #expect(x > y || (x == y && graph.name(of: a) < graph.name(of: b)))
        }
        let top = Set(order.prefix(100))
        let largest = circuit.edges.filter { circuit.scores[$0] != nil }.sorted { Swift.abs(circuit.scores[$0]!) > Swift.abs(circuit.scores[$1]!) }
        #expect(top == Set(largest.prefix(100)))

        // Every node of the graph is placed; the circuit's are marked.
        let nodes = svg.elements("g").filter { ["cx-node", "cx-node cx-in"].contains($0.attributes["class"]) }
        #expect(nodes.count == graph.senders.count + 1)
        #expect(Set(nodes.filter { $0.attributes["class"] == "cx-node cx-in" }.map { $0.attributes["data-name"]! }) == Set(circuit.nodes))
        #expect(nodes.map { $0.attributes["data-id"]! } == (0...graph.senders.count).map(String.init))
    }

    @Test func pageIsSelfContainedWithTheScriptOnce() throws {
        var report = ReportDocument(title: "circuits")
        report.addSection("deep", figures: [CircuitView(Sample.deepCircuit()), CircuitView(Sample.deepCircuit(edgeCount: 600, seed: 3))])
        report.addSection("small", figures: [CircuitView(Self.smallCircuit(edgeCount: 20))])
        let html = report.html()
        #expect(html.components(separatedBy: "<script>").count - 1 == 1)
        #expect(html.components(separatedBy: "</script>").count - 1 == 1)
        #expect(html.components(separatedBy: "class=\"circuit-explorer\"").count - 1 == 2)
        // The only URLs are the SVG namespace names, which nothing fetches.
        let urls = try Regex("https?://[^\"' )<>]*")
        #expect(Set(html.matches(of: urls).map { String(html[$0.range]) }) == ["http://www.w3.org/2000/svg"])
        for fetch in ["src=", "<link", "@import", "url(", "fetch(", "XMLHttpRequest", "import(", "<iframe", "<img"] {
            #expect(!html.contains(fetch), "\(fetch)")
        }
    }

    @Test func namesAndMetadataAreEscaped() throws {
        let html = CircuitView(Sample.deepCircuit(edgeCount: 300)).html
        #expect(!html.contains("<b>") && html.contains("random &lt;b&gt;&amp;&lt;/b&gt;"))
        #expect(!html.contains("<q>") && !html.contains("<k>") && !html.contains("<v>"))
        #expect(html.contains("&lt;q&gt;\"") && html.contains("-&gt;"))
        _ = try Self.drawing(html)                                     // well-formed XML
    }

    @Test func outputIsDeterministic() throws {
        let circuit = Sample.deepCircuit(edgeCount: 500)
        let reordered = Circuit(graph: circuit.graph, edges: Set(circuit.edges.sorted { circuit.graph.name(of: $0) > circuit.graph.name(of: $1) }),
                                scores: Dictionary(uniqueKeysWithValues: circuit.scores.sorted { $0.value < $1.value }.map { ($0.key, $0.value) }),
                                metadata: circuit.metadata)
        let html = CircuitView(circuit).html
        #expect(html == CircuitView(reordered).html)
        #expect(html == CircuitView(Sample.deepCircuit(edgeCount: 500)).html)
    }

    /// Writes a page with a large interactive circuit (2,000 edges of the 30-layer graph), a smaller one and
    /// a static one to `CIRCUIT_VIEW_PATH` when set, with the large circuit's JSON next to it, for
    /// scripts/check_circuit_view.sh; checks the page's figures either way.
    @Test func checkPageForTheBrowser() throws {
        let large = Sample.deepCircuit()
        var report = ReportDocument(title: "Circuit view check: 30 layers × 9 heads",
                                    paragraphs: ["Random circuits on the graph of a 30-layer model with 9 query and 3 key-value heads."])
        report.addSection("2,000 edges", figures: [CircuitView(large)])
        report.addSection("600 edges", figures: [CircuitView(Sample.deepCircuit(edgeCount: 600, seed: 3))])
        report.addSection("Static, 40 edges", figures: [CircuitView(Sample.deepCircuit(edgeCount: 40, unscored: 0, seed: 5))])
        #expect(report.sections.flatMap(\.figures).compactMap { ($0 as? CircuitView)?.isInteractive } == [true, true, false])
        guard let path = ProcessInfo.processInfo.environment["CIRCUIT_VIEW_PATH"] else { return }
        let url = URL(fileURLWithPath: path)
        try report.write(to: url)
        try large.jsonData().write(to: url.deletingPathExtension().appendingPathExtension("json"))
    }
}
