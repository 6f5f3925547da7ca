/// Direct logit attribution: a bar chart of every component's contribution (embeddings, heads, attention
/// biases, MLPs), largest first, red for positive and blue for negative; below it the check that the
/// contributions plus the final-norm (and unembedding) bias add up to the real logit; beside it a layer × head heatmap
/// (diverging scale) with the MLPs in a last column.
///
/// ```swift
/// let dla = try model.directLogitAttribution(batch, target: .difference(answer: mary, wrong: john))
/// report.addSection("DLA", figures: [DLAView(dla, targetLabel: "logit(Mary) − logit(John)")])
/// ```
public struct DLAView: ReportFigure {
    public let attribution: DirectLogitAttribution
    /// The example shown, or nil for the mean over the batch.
    public let example: Int?
    /// At most this many bars; the smallest contributions beyond it are summed into one `other` bar.
    public let maximumBars: Int
    /// What is attributed, for titles (e.g. `logit(" Mary") − logit(" John")`).
    public let targetLabel: String

    public init(_ attribution: DirectLogitAttribution, example: Int? = nil, maximumBars: Int = 40, targetLabel: String = "logit") {
        precondition(maximumBars >= 2, "a DLA chart needs at least two bars")
        precondition(example.map { (0..<attribution.logits.count).contains($0) } ?? true, "example \(example ?? 0) out of range")
        self.attribution = attribution
        self.example = example
        self.maximumBars = maximumBars
        self.targetLabel = targetLabel
    }

    /// One value per component label: the example's, or the batch mean.
    var values: [Float] {
        let components = attribution.contributions
        return (0..<components.shape[0]).map { c in
            let row = components.select(axis: 0, c)
            return example.map { row.scalars[$0] } ?? row.mean().item
        }
    }

    private func mean(_ values: [Float]) -> Float { example.map { values[$0] } ?? values.reduce(0, +) / Float(Swift.max(values.count, 1)) }
    var total: Float { mean(attribution.totals) }
    var logit: Float { mean(attribution.logits) }
    var bias: Float { mean(attribution.biasTerm) }

    /// `embed`, `pos embed`, `L3H7`, `attn bias 3`, `MLP 3`.
    static func readable(_ label: String) -> String {
        if label == "pos_embed" { return "pos embed" }
        if label.hasSuffix("_attn_bias") { return "attn bias " + label.dropLast("_attn_bias".count) }
        if label.hasSuffix("_mlp_out") { return "MLP " + label.dropLast("_mlp_out".count) }
        return label
    }

    /// The bars drawn: the largest |contribution| first chosen, then ordered by value, plus `other`.
    var bars: [(label: String, value: Float, isOther: Bool)] {
        let all = zip(attribution.labels.map(Self.readable), values).map { (label: $0, value: $1, isOther: false) }
        guard all.count > maximumBars else { return all.sorted { $0.value > $1.value } }
        let ranked = all.sorted { Swift.abs($0.value) > Swift.abs($1.value) }
        let kept = ranked.prefix(maximumBars - 1).sorted { $0.value > $1.value }
        let rest = ranked.dropFirst(maximumBars - 1)
        return kept + [(label: "other \(rest.count)", value: rest.reduce(0) { $0 + $1.value }, isOther: true)]
    }

    public var svg: String {
        var svg = SVG()
        let bars = self.bars
        let checks: [(String, Float)] = [("final-norm, b_U bias", bias), ("Σ components + bias", total), ("real \(targetLabel)", logit)]
        let everything = bars.map(\.value) + checks.map(\.1)
        let low = Swift.min(0, everything.min() ?? 0), high = Swift.max(0, everything.max() ?? 0)
        let span = high - low > 0 ? high - low : 1
        let labels = bars.map(\.label) + checks.map(\.0)
        let labelWidth = Double(labels.map { Swift.min($0.count, 28) }.max() ?? 0) * SVG.sansAdvance
        let plotWidth = 420.0, barHeight = 14.0, top = 26.0, valueRoom = 46.0
        let left = labelWidth + 8 + (low < 0 ? valueRoom : 0)
        func x(_ v: Float) -> Double { left + Double((v - low) / span) * plotWidth }
        svg.text("contributions to \(targetLabel)" + (example.map { " (example \($0))" } ?? " (mean over \(attribution.logits.count) examples)"),
                 x: 0, y: 8, bold: true)
        func bar(_ label: String, _ value: Float, y: Double, fill: String, className: String, title: String) {
            svg.text(Markup.abbreviated(label, to: 28), x: labelWidth + 2, y: y + barHeight / 2, anchor: .end)
            let (a, b) = (x(Swift.min(value, 0)), x(Swift.max(value, 0)))
            svg.rect(x: a, y: y + 1, width: Swift.max(b - a, 0.5), height: barHeight - 2, fill: fill, className: className, title: title)
            svg.text(SVG.value(value), x: value >= 0 ? b + 4 : a - 4, y: y + barHeight / 2, anchor: value >= 0 ? .start : .end,
                     size: 10, colour: "#555555")
        }
        for (i, entry) in bars.enumerated() {
            let fill = entry.isOther ? "#bbbbbb" : entry.value >= 0 ? "#d6604d" : "#4393c3"
            bar(entry.label, entry.value, y: top + Double(i) * barHeight, fill: fill, className: "bar",
                title: "\(entry.label): \(SVG.value(entry.value))")
        }
        let checkTop = top + Double(bars.count) * barHeight + 14
        svg.line(x1: 0, y1: checkTop - 7, x2: left + plotWidth + valueRoom, y2: checkTop - 7, stroke: "#dddddd")
        for (i, (label, value)) in checks.enumerated() {
            bar(label, value, y: checkTop + Double(i) * barHeight, fill: i == 2 ? "#333333" : "#888888", className: "check",
                title: "\(label): \(SVG.value(value))")
        }
        let bottom = checkTop + Double(checks.count) * barHeight
        svg.line(x1: x(0), y1: top - 4, x2: x(0), y2: bottom + 2, stroke: "#444444")
        svg.text("|Σ − real| = \(SVG.value(Swift.abs(total - logit)))", x: left, y: bottom + 12, size: 10, colour: "#555555")

        let heatmap = headHeatmap
        let heatmapX = left + plotWidth + valueRoom + 50
        svg.append(heatmap.map.drawing(), dx: heatmapX, dy: 0)
        svg.append(heatmap.map.scale.legend(label: "contribution"), dx: heatmapX + heatmap.map.gridOrigin.x, dy: heatmap.map.height + 10)
        let width = heatmapX + Swift.max(heatmap.map.width, heatmap.map.gridOrigin.x + 190)
        let height = Swift.max(bottom + 24, heatmap.map.height + 10 + ColourScale.legendHeight)
        return svg.rendered(width: width, height: height, label: "direct logit attribution")
    }

    /// Layers × (heads, then MLP when the model has MLPs).
    var headHeatmap: (map: Heatmap, columns: [String]) {
        let layers = attribution.layerCount, heads = attribution.headCount
        let hasMLPs = attribution.labels.contains { $0.hasSuffix("_mlp_out") }
        let byLabel = Dictionary(uniqueKeysWithValues: zip(attribution.labels, values))
        let columns = (0..<heads).map { "H\($0)" } + (hasMLPs ? ["MLP"] : [])
        let grid: [Float] = (0..<layers).flatMap { l -> [Float] in
            let row: [Float] = (0..<heads).map { byLabel["L\(l)H\($0)"] ?? 0 }
            return row + (hasMLPs ? [byLabel["\(l)_mlp_out"] ?? 0] : [])
        }
        var map = Heatmap(rowLabels: (0..<layers).map { "L\($0)" }, columnLabels: columns, values: grid,
                          scale: .diverging(covering: grid)) { r, c in
            "\(c < heads ? "L\(r)H\(c)" : "MLP \(r)"): \(SVG.value(grid[r * columns.count + c]))"
        }
        let size = Swift.min(34, Swift.max(12, (520 / Double(columns.count)).rounded(.down)))
        map.cellWidth = size
        map.cellHeight = Swift.min(size, 26)
        map.title = "per head (and MLP)"
        map.columnAxisName = "head"
        map.rowAxisName = "layer"
        if size >= 30 { map.cellText = { r, c in SVG.short(grid[r * columns.count + c]) } }
        return (map, columns)
    }

    public var caption: String {
        "Direct logit attribution of \(targetLabel): each component's write, through the final norm with its real scale, "
            + "dotted with the unembedding direction. Red adds, blue subtracts. Check: Σ components + final-norm and unembedding biases = "
            + "\(SVG.value(total)), real value\(attribution.logitSoftcap == nil ? "" : " before the final soft-cap") \(SVG.value(logit)) (largest error over the batch \(SVG.value(attribution.maxError)))."
    }
}
