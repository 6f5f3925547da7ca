/// Attention patterns of every layer and head as a grid of small heatmaps (rows: layers, columns: heads),
/// next to one selected head drawn large with the tokens on its axes (rows: queries, columns: keys).
///
/// Weights use the sequential scale over `[0, 1]`; future positions (key after query) are light grey.
///
/// ```swift
/// let patterns = try model.attentionPatterns(batch)           // [layers, batch, heads, q, k]
/// let view = AttentionView(patterns: patterns, tokens: tokenizer.tokens(batch[0]), selected: (5, 1))
/// ```
public struct AttentionView: ReportFigure {
    /// `[layers, batch, heads, query, key]`.
    public let patterns: Tensor
    public let tokens: [String]
    /// The example (batch index) shown.
    public let example: Int
    /// The head drawn large.
    public let selected: (layer: Int, head: Int)

    /// - Parameter selected: the head drawn large; by default the head that attends most sharply away from
    ///   the first token (largest mean over queries of the largest weight on a key after position 0).
    public init(patterns: Tensor, tokens: [String], example: Int = 0, selected: (layer: Int, head: Int)? = nil) {
        precondition(patterns.shape.count == 5, "attention patterns must be [layers, batch, heads, query, key], got \(patterns.shape)")
        precondition(patterns.shape[3] == tokens.count && patterns.shape[4] == tokens.count,
                     "\(tokens.count) tokens for patterns of shape \(patterns.shape)")
        precondition((0..<patterns.shape[1]).contains(example), "example \(example) out of range for patterns of shape \(patterns.shape)")
        self.patterns = patterns
        self.tokens = tokens
        self.example = example
        self.selected = selected ?? Self.sharpestHead(patterns, example: example)
        precondition((0..<layerCount).contains(self.selected.layer) && (0..<headCount).contains(self.selected.head),
                     "selected head \(self.selected) is not in the patterns")
    }

    var layerCount: Int { patterns.shape[0] }
    var headCount: Int { patterns.shape[2] }
    var length: Int { tokens.count }

    /// The `[query, key]` weights of one head, row-major.
    func pattern(layer: Int, head: Int) -> [Float] {
        Self.pattern(patterns, layer: layer, example: example, head: head)
    }

    private static func pattern(_ patterns: Tensor, layer: Int, example: Int, head: Int) -> [Float] {
        let size = patterns.shape[3] * patterns.shape[4]
        let start = ((layer * patterns.shape[1] + example) * patterns.shape[2] + head) * size
        return Array(patterns.scalars[start..<(start + size)])
    }

    private static func sharpestHead(_ patterns: Tensor, example: Int) -> (layer: Int, head: Int) {
        let length = patterns.shape[3]
        var best = (layer: 0, head: 0), bestScore = -Float.infinity
        for l in 0..<patterns.shape[0] {
            for h in 0..<patterns.shape[2] {
                let weights = pattern(patterns, layer: l, example: example, head: h)
                let rows = (1..<Swift.max(length, 1)).map { q in (1...q).map { weights[q * length + $0] }.max() ?? 0 }
                let score = rows.isEmpty ? 0 : rows.reduce(0, +) / Float(rows.count)
                if score > bestScore { (best, bestScore) = ((l, h), score) }
            }
        }
        return best
    }

    private func isFuture(_ query: Int, _ key: Int) -> Bool { key > query }

    private var visibleTokens: [String] { tokens.map(Markup.visibleToken) }

    /// The large heatmap of the selected head.
    private var selectedHeatmap: Heatmap {
        let weights = pattern(layer: selected.layer, head: selected.head)
        let shown = visibleTokens
        var map = Heatmap(rowLabels: shown, columnLabels: shown, values: weights, scale: .sequential()) { [length] q, k in
            "query \(q) \(shown[q]) → key \(k) \(shown[k]): \(SVG.value(weights[q * length + k]))"
        }
        map.cellWidth = Swift.min(26, Swift.max(12, 420 / Double(length)).rounded())
        map.cellHeight = map.cellWidth
        map.title = "L\(selected.layer)H\(selected.head)"
        map.rowAxisName = "query"
        map.columnAxisName = "key"
        map.tokenRows = true
        map.tokenColumns = true
        map.isMasked = isFuture
        return map
    }

    public var svg: String {
        var svg = SVG()
        let cell = Swift.max(1, Swift.min(6, (84 / Double(length)).rounded(.down)))
        let mini = cell * Double(length), gap = 8.0, left = 30.0, top = 34.0
        svg.text("all heads (example \(example))", x: 0, y: 8, bold: true)
        for h in 0..<headCount {
            svg.text("H\(h)", x: left + Double(h) * (mini + gap) + mini / 2, y: top - 9, anchor: .middle, colour: "#555555")
        }
        for l in 0..<layerCount {
            let y = top + Double(l) * (mini + gap)
            svg.text("L\(l)", x: left - 6, y: y + mini / 2, anchor: .end, colour: "#555555")
            for h in 0..<headCount {
                var map = Heatmap(rowLabels: Array(repeating: "", count: length), columnLabels: Array(repeating: "", count: length),
                                  values: pattern(layer: l, head: h), scale: .sequential()) { _, _ in nil }
                map.cellWidth = cell
                map.cellHeight = cell
                map.showLabels = false
                map.isMasked = isFuture
                let x = left + Double(h) * (mini + gap)
                svg.append(map.drawing(), dx: x, dy: y, className: "head", title: "L\(l)H\(h)")
                let isSelected = l == selected.layer && h == selected.head
                svg.rect(x: x - 1, y: y - 1, width: mini + 2, height: mini + 2, fill: "none",
                         stroke: isSelected ? "#e6550d" : "#d0d0d0", strokeWidth: isSelected ? 2 : 0.5)
            }
        }
        let gridWidth = left + Double(headCount) * (mini + gap)
        let gridHeight = top + Double(layerCount) * (mini + gap)
        let large = selectedHeatmap
        let legend = ColourScale.sequential().legend(label: "attention weight")
        let besideGrid = gridWidth + 40 + large.width <= 1240
        let (x, y) = besideGrid ? (gridWidth + 40, 0.0) : (0.0, gridHeight + 24)
        svg.append(large.drawing(), dx: x, dy: y, className: "selected")
        svg.append(legend, dx: x + large.gridOrigin.x, dy: y + large.height + 12)
        let width = Swift.max(gridWidth, x + Swift.max(large.width, large.gridOrigin.x + 190))
        let height = Swift.max(gridHeight, y + large.height + 12 + ColourScale.legendHeight)
        return svg.rendered(width: width, height: height, label: "attention patterns")
    }

    public var caption: String {
        "Attention patterns of \(layerCount) layers × \(headCount) heads on example \(example) (\(length) tokens); "
            + "L\(selected.layer)H\(selected.head) (outlined) drawn large, rows = query (attending) position, columns = key "
            + "(attended) position. Grey: future positions. Hover a cell for its weight."
    }
}
