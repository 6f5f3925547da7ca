import TestModels
import Foundation
import Testing
import Reports

@Suite struct ViewTests {
    static let hostile = ["<script>alert(1)</script>", "\"quoted\"", " & ", "\n"]

    @Test func attentionViewDrawsEveryCellAndEscapesTokens() throws {
        let tokens = [0, 14, 16, 15, 13, 2, 19, 21]
        let patterns = try Sample.model.attentionPatterns(TokenBatch([tokens, tokens.reversed()]))
        let view = AttentionView(patterns: patterns, tokens: tokens.map(Sample.decode), example: 1, selected: (2, 3))
        let svg = try SVGInspector(view.svg)
        let (layers, heads, n) = (4, 6, tokens.count)
        #expect(svg.count("g", className: "head") == layers * heads)
        let cells = svg.count("rect", className: "cell"), masked = svg.count("rect", className: "cell masked")
        #expect(cells + masked == (layers * heads + 1) * n * n)
        #expect(masked == (layers * heads + 1) * n * (n - 1) / 2)
        // The large view's cells are those with tooltips; each names its weight.
        let large = svg.elements("rect").filter { $0.attributes["class"]?.hasPrefix("cell") == true }.suffix(n * n)
        #expect(large.count == n * n)
        #expect(view.svg.contains("L2H3"))
        #expect(!view.svg.contains("<script>"))
        #expect(view.svg.contains("&lt;script&gt;"))
        #expect(svg.texts.contains("\\u{1B}[31m"))
        #expect(svg.texts.contains("↵"))
        #expect(svg.texts.contains("␣Mary"))
    }

    @Test func logitLensViewShowsEveryLayerAndTheTarget() throws {
        let lens = try Sample.model.logitLens(TokenBatch([Sample.clean]), topK: 3, target: Sample.answer)
        let view = LogitLensView(lens, target: Sample.answer, decode: Sample.decode)
        let svg = try SVGInspector(view.svg)
        #expect(svg.count("rect", className: "cell") == lens.layers.count * 3)
        let bars = svg.elements("rect", className: "target-bar")
        #expect(bars.count == lens.layers.count)
        let widths = bars.map { Double($0.attributes["width"]!)! }
        for (width, layer) in zip(widths, lens.layers) {
            #expect(Swift.abs(width - 150 * Double(layer.targetProbability!)) <= 0.06)
        }
    }

    @Test func dlaViewDrawsEveryComponentAndTheSumCheck() throws {
        let dla = try Sample.directLogitAttribution()
        let all = DLAView(dla, maximumBars: 1000)
        let svg = try SVGInspector(all.svg)
        #expect(svg.count("rect", className: "bar") == dla.labels.count)
        #expect(svg.count("rect", className: "check") == 3)
        #expect(svg.count("rect", className: "cell") == dla.layerCount * (dla.headCount + 1))
        let checkTitles = svg.elements("rect", className: "check").map(\.tooltip)
        let mean = dla.totals.reduce(0, +) / Float(dla.totals.count)
        #expect(checkTitles[1].hasSuffix(String(format: "%.2f", mean)) || checkTitles[1].hasSuffix(String(format: "%.3f", mean)))

        // Capped: the 9 largest |contributions| and one bar summing the rest.
        let capped = DLAView(dla, example: 0, maximumBars: 10)
        let bars = try SVGInspector(capped.svg).elements("rect", className: "bar")
        #expect(bars.count == 10)
        let values = (0..<dla.labels.count).map { dla.contributions[$0, 0] }
        let kept = Set(values.indices.sorted { Swift.abs(values[$0]) > Swift.abs(values[$1]) }.prefix(9))
        let rest = values.indices.filter { !kept.contains($0) }.map { values[$0] }.reduce(0, +)
        let other = try #require(bars.last { $0.tooltip.hasPrefix("other \(values.count - 9):") })
        let shown = Float(other.tooltip.split(separator: " ").last!)!
        #expect(Swift.abs(shown - rest) <= 0.01 * Swift.max(1, Swift.abs(rest)))
    }

    @Test func patchingHeatmapDrawsOneCellPerValue() throws {
        let patching = try Sample.patching()
        let tokens = Sample.clean.map(Sample.decode)
        let resid = try patching.sweep(.residPre)
        let flat = try SVGInspector(PatchingHeatmap(resid, tokens: tokens).svg)
        let cells = flat.elements("rect", className: "cell")
        #expect(cells.count == resid.values.count)
        // The most extreme normalized value takes an end of the scale.
        let normalized = resid.normalized
        let extreme = normalized.indices.max { Swift.abs(normalized[$0]) < Swift.abs(normalized[$1]) }!
        #expect(cells[extreme].attributes["fill"] == (normalized[extreme] > 0 ? "#b2182b" : "#2166ac"))
        #expect(flat.texts.contains("<script>alert…"))

        let byPosition = try patching.sweep(.v, granularity: .byPosition)           // [layer, position, head]
        let panels = try SVGInspector(PatchingHeatmap(byPosition, tokens: tokens).svg)
        #expect(panels.count("rect", className: "cell") == byPosition.values.count)
        #expect(panels.count("g", className: "panel") == byPosition.shape[2])

        let summedView = PatchingHeatmap(byPosition, values: .raw, higherAxes: .sum)
        let summed = try SVGInspector(summedView.svg).elements("rect", className: "cell")
        #expect(summed.count == byPosition.shape[0] * byPosition.shape[1])
        let heads = byPosition.shape[2]
        let sums = (0..<summed.count).map { i in byPosition.values[(i * heads)..<((i + 1) * heads)].reduce(0, +) }
        let scale = ColourScale.diverging(covering: sums)
        #expect(summed.map { $0.attributes["fill"]! } == sums.map(scale.colour))
        #expect(summedView.caption.contains("Summed over head"))
    }

    @Test func patchingHeatmapLeavesOutPaddingPositions() throws {
        // Examples of 6 and 9 tokens are right-padded to 9: positions 6–8 are padding for the first one.
        let short = [0, 1, 2, 3, 4, 14], long = Array(Sample.clean.prefix(9))
        let pairs = try PromptPairs(clean: [short, long], corrupted: [[0, 1, 4, 3, 2, 14], Array(Sample.corrupted.prefix(9))],
                                    answers: [2, 4], wrongs: [4, 2])
        let patching = try ActivationPatching(model: Sample.model, pairs: pairs, metric: .logitDifference(answers: pairs.answers, wrongs: pairs.wrongs))
        let tokens = short.map(Sample.decode)

        let resid = try patching.sweep(.residPre)                                 // [layer 4, position 9]
        #expect(resid.shape == [4, 9])
        let view = PatchingHeatmap(resid, tokens: tokens)
        #expect(view.paddingCount == 3)
        let svg = try SVGInspector(view.svg)
        let cells = svg.elements("rect", className: "cell")
        #expect(cells.count == 4 * 6)
        let kept = (0..<4).flatMap { l in (0..<6).map { resid.normalized[l * 9 + $0] } }
        let scale = ColourScale.diverging(covering: kept)
        #expect(cells.map { $0.attributes["fill"]! } == kept.map(scale.colour))
        let shownPositions = Set(cells.map { $0.tooltip.components(separatedBy: ", position ")[1].components(separatedBy: ":")[0] })
        #expect(shownPositions == Set(tokens.map(Markup.visibleToken)))
        #expect(view.caption.contains("Positions 6–8 are padding"))

        let byPosition = try patching.sweep(.v, granularity: .byPosition)         // [layer, position, head]
        let panels = try SVGInspector(PatchingHeatmap(byPosition, tokens: tokens).svg)
        #expect(panels.count("rect", className: "cell") == 4 * 6 * 6)

        // Labels that match the positions, or named positions, are not cut.
        #expect(PatchingHeatmap(resid, tokens: long.map(Sample.decode)).paddingCount == 0)
        let named = PatchingResult(component: "resid_pre", axes: [.init(name: "layer", labels: ["0", "1"]), .init(name: "position", labels: ["IO", "S2", "END"])],
                                   values: [1, 2, 3, 4, 5, 6], metric: "m", direction: "denoising", cleanValue: 1, corruptedValue: 0)
        let namedView = PatchingHeatmap(named, tokens: ["a", "b"])
        #expect(namedView.paddingCount == 0)
        #expect(try SVGInspector(namedView.svg).count("rect", className: "cell") == 6)
    }

    @Test func patchingHeatmapLeavesOutPaddingOnBothPatternAxes() throws {
        let pairs = try PromptPairs(clean: [[0, 2, 3], [0, 2, 3, 4, 14]], corrupted: [[0, 4, 3], [0, 4, 3, 2, 14]], answers: [2, 2], wrongs: [4, 4])
        let patching = try ActivationPatching(model: Sample.model, pairs: pairs, metric: .logitDifference(answers: pairs.answers, wrongs: pairs.wrongs))
        let result = try patching.sweep(.pattern, granularity: .destinationSource)   // [layer, head, dest 5, source 5]
        let view = PatchingHeatmap(result, tokens: [0, 2, 3].map(Sample.decode))
        #expect(view.paddingCount == 2)
        let svg = try SVGInspector(view.svg)
        #expect(svg.count("rect", className: "cell") + svg.count("rect", className: "cell masked") == 4 * 6 * 3 * 3)
        #expect(svg.count("rect", className: "cell masked") == 4 * 6 * 3)
    }

    @Test func patchingHeatmapDrawsFourDimensionalResultsAsAGrid() throws {
        let result = try Sample.shortPatching().sweep(.pattern, granularity: .destinationSource)   // [layer, head, dest, source]
        let svg = try SVGInspector(PatchingHeatmap(result).svg)
        #expect(svg.count("g", className: "panel") == 4 * 6)
        #expect(svg.count("rect", className: "cell") + svg.count("rect", className: "cell masked") == result.values.count)
        #expect(svg.count("rect", className: "cell masked") == 4 * 6 * 10)
    }

    @Test(arguments: [false, true]) func circuitViewDrawsEveryEdgeAndNode(groupedQuery: Bool) throws {
        let model = TestModels.make(llama: groupedQuery, layers: 3, heads: 4, kvHeads: groupedQuery ? 2 : nil)
        let pairs = try PromptPairs(clean: [[3, 7, 1, 9, 4, 4]], corrupted: [[3, 7, 5, 9, 4, 4]], answers: [5], wrongs: [1])
        let scores = try EdgePatching(model: model, pairs: pairs, metric: .logitDiff).edgeAttribution()
        let circuit = Circuit.top(scores, count: 25)
        let svg = try SVGInspector(CircuitView(circuit).svg)
        #expect(svg.count("g", className: "edge") == circuit.edges.count)
        #expect(svg.count("rect", className: "node") == circuit.nodes.count)
        #expect(svg.count("rect", className: "node faint") == circuit.graph.senders.count + 1 - circuit.nodes.count)
        let colours = Set([ComputationGraph.Receiver.query(layer: 0, head: 0), .key(layer: 0, group: 0), .value(layer: 0, group: 0),
                           .mlp(layer: 0), .logits].map(Circuit.colour))
        let strokes = svg.elements("path").compactMap { $0.attributes["stroke"] }
        #expect(strokes.count >= circuit.edges.count)
        #expect(Set(strokes).isSubset(of: colours))
        // A grouped key or value input (two heads per group here) is drawn into both heads of its group.
        let shared = circuit.edges.filter { edge in
            switch edge.receiver {
            case .key, .value: return true
            default: return false
            }
        }
        #expect(strokes.count == circuit.edges.count + (groupedQuery ? shared.count : 0))
    }

    @Test func circuitViewKeepsThreeHundredEdgesReadable() throws {
        let circuit = Sample.largeCircuit()
        let svg = try SVGInspector(CircuitView(circuit).svg)
        let groups = svg.elements("g", className: "edge")
        #expect(groups.count == 300)
        // Drawn weakest first: the strongest edge is on top, widest and most opaque; weak ones fade.
        let paths = svg.elements("path").filter { $0.attributes["stroke-opacity"] != nil }
        let widths = paths.map { Double($0.attributes["stroke-width"]!)! }
        #expect(widths.last == 5)
        #expect(widths == widths.sorted())
        #expect(paths.first.map { Double($0.attributes["stroke-opacity"]!)! }! < 0.8)
    }

    @Test func faithfulnessViewPlotsEveryPoint() throws {
        let edges = try Sample.edgePatching()
        let curve = edges.faithfulnessCurve(edges.edgeAttribution(), sizes: [5, 20, 80, 320])
        let logView = FaithfulnessView(curve, label: "EAP")
        #expect(logView.logarithmic)
        let svg = try SVGInspector(logView.svg)
        #expect(svg.count("circle", className: "point") == curve.points.count)
        #expect(svg.count("path", className: "curve") == 1)
        #expect(logView.caption.contains(String(format: "%.3f", curve.area)) || logView.caption.contains(String(format: "%.2f", curve.area)))
        let linear = FaithfulnessView(curves: [("a", curve), ("b", curve)], logarithmic: false)
        #expect(try SVGInspector(linear.svg).count("circle", className: "point") == 2 * curve.points.count)
    }

    @Test func headScoresViewDrawsOneCellPerHeadAndKind() throws {
        let scores = try Sample.headScores()
        let view = HeadScoresView(scores)
        let svg = try SVGInspector(view.svg)
        #expect(svg.count("g", className: "panel") == HeadKind.allCases.count)
        #expect(svg.count("rect", className: "cell") == HeadKind.allCases.count * 4 * 6)
        let best = scores.heads(.previousToken, threshold: 0)[0]
        #expect(view.caption.contains("previous token L\(best.layer)H\(best.head)"))
    }
}
