/// The logit lens as a table: one row per layer (embedding first, final output last), the top tokens as
/// cells coloured by probability (sequential scale), and the target token's probability as a bar with its
/// rank. A top token equal to the target is outlined.
///
/// ```swift
/// let lens = try model.logitLens(batch, target: answer)
/// let view = LogitLensView(lens, target: answer, decode: { tokenizer.decode([$0]) })
/// ```
public struct LogitLensView: ReportFigure {
    public let lens: LogitLens
    /// The target token of the lens, when one was given.
    public let target: Int?
    /// Token strings for token ids.
    public let decode: (Int) -> String

    public init(_ lens: LogitLens, target: Int? = nil, decode: @escaping (Int) -> String = { "#\($0)" }) {
        self.lens = lens
        self.target = target
        self.decode = decode
    }

    private var rankCount: Int { lens.layers.map(\.topTokens.count).max() ?? 0 }

    private func token(_ id: Int) -> String { Markup.visibleToken(decode(id)) }

    public var svg: String {
        let layers = lens.layers, ranks = rankCount
        let probabilities = layers.flatMap { layer in (0..<ranks).map { $0 < layer.topTokens.count ? layer.topTokens[$0].probability : .nan } }
        var map = Heatmap(rowLabels: layers.map(\.label), columnLabels: (1...Swift.max(ranks, 1)).map { "top \($0)" }.prefix(ranks).map { $0 },
                          values: probabilities, scale: .sequential()) { [self] r, c in
            guard c < layers[r].topTokens.count else { return nil }
            let entry = layers[r].topTokens[c]
            return "\(layers[r].label) top \(c + 1): \(token(entry.token)) (id \(entry.token)) p = \(SVG.value(entry.probability))"
        }
        map.cellWidth = 92
        map.cellHeight = 22
        map.title = "top tokens by layer (position \(lens.position), example \(lens.example))"
        map.cellText = { [self] r, c in
            c < layers[r].topTokens.count ? Markup.abbreviated(token(layers[r].topTokens[c].token), to: 12) : nil
        }
        var svg = SVG()
        svg.append(map.drawing())
        let (x0, y0) = map.gridOrigin
        let cellsRight = x0 + Double(ranks) * map.cellWidth
        if let target {
            for (r, layer) in layers.enumerated() {
                if let c = layer.topTokens.firstIndex(where: { $0.token == target }) {
                    svg.rect(x: x0 + Double(c) * map.cellWidth - 0.5, y: y0 + Double(r) * map.cellHeight - 0.5,
                             width: map.cellWidth, height: map.cellHeight, fill: "none", stroke: "#e6550d", strokeWidth: 2)
                }
            }
        }
        var width = cellsRight + 8
        if let target, layers.contains(where: { $0.targetProbability != nil }) {
            let barX = cellsRight + 16, barWidth = 150.0
            svg.text("target \(Markup.abbreviated(token(target), to: 16)): probability, rank", x: barX, y: y0 - 8, bold: true)
            for (r, layer) in layers.enumerated() {
                guard let p = layer.targetProbability else { continue }
                let y = y0 + Double(r) * map.cellHeight
                svg.rect(x: barX, y: y + 3, width: barWidth, height: map.cellHeight - 7, fill: "#f1f1f1")
                svg.rect(x: barX, y: y + 3, width: barWidth * Double(Swift.min(Swift.max(p, 0), 1)), height: map.cellHeight - 7,
                         fill: ColourScale.sequential().colour(0.8), className: "target-bar",
                         title: "\(layer.label): p(target) = \(SVG.value(p)), rank \(layer.targetRank.map { "\($0 + 1)" } ?? "?")")
                let rank = layer.targetRank.map { " #\($0 + 1)" } ?? ""
                svg.text(SVG.value(p) + rank, x: barX + barWidth + 6, y: y + map.cellHeight / 2 - 1, size: 10, colour: "#333333")
            }
            width = barX + barWidth + 70
        }
        let legend = ColourScale.sequential().legend(label: "probability")
        svg.append(legend, dx: x0, dy: map.height + 10)
        return svg.rendered(width: Swift.max(width, x0 + 190), height: map.height + 10 + ColourScale.legendHeight,
                            label: "logit lens")
    }

    public var caption: String {
        var text = "Logit lens at position \(lens.position) of example \(lens.example): each layer's residual stream put through "
            + "the final norm and the unembedding. Cells: the \(rankCount) most probable tokens, shaded by probability."
        if let target { text += " Bars: probability of the target \(token(target)) and its rank (#1 = top); the target is outlined where it is among the top tokens." }
        return text
    }
}
