/// Head-type scores (previous token, induction, duplicate token, first token) as one layer × head heatmap
/// per kind, on the sequential scale over `[0, 1]` (a score is a mean attention weight).
///
/// ```swift
/// let scores = try model.headScores(batch, prefix: [bos])
/// report.addSection("Head types", figures: [HeadScoresView(scores)])
/// ```
public struct HeadScoresView: ReportFigure {
    public let scores: HeadScores
    /// The kinds drawn, in order (those missing from `scores` are left out).
    public let kinds: [HeadKind]

    public init(_ scores: HeadScores, kinds: [HeadKind] = HeadKind.allCases) {
        self.scores = scores
        self.kinds = kinds.filter { scores.scores[$0] != nil }
    }

    static func title(_ kind: HeadKind) -> String { kind.rawValue.replacingOccurrences(of: "_", with: " ") }

    public var svg: String {
        var svg = SVG()
        var x = 0.0, y = 0.0, rowHeight = 0.0, width = 190.0
        for kind in kinds {
            let table = scores.scores[kind]!
            let (layers, heads) = (table.shape[0], table.shape[1])
            var map = Heatmap(rowLabels: (0..<layers).map { "L\($0)" }, columnLabels: (0..<heads).map { "H\($0)" },
                              values: table.scalars, scale: .sequential()) { l, h in
                "\(Self.title(kind)) L\(l)H\(h): \(SVG.value(table.scalars[l * heads + h]))"
            }
            map.cellWidth = Swift.min(30, Swift.max(10, (380 / Double(heads)).rounded(.down)))
            map.cellHeight = Swift.min(map.cellWidth, 24)
            map.title = Self.title(kind)
            map.rowAxisName = "layer"
            if map.cellWidth >= 28 { map.cellText = { l, h in SVG.short(table.scalars[l * heads + h]) } }
            if x > 0 && x + map.width > 1240 { (x, y, rowHeight) = (0, y + rowHeight + 20, 0) }
            svg.append(map.drawing(), dx: x, dy: y, className: "panel")
            width = Swift.max(width, x + map.width)
            rowHeight = Swift.max(rowHeight, map.height)
            x += map.width + 32
        }
        let legendY = y + rowHeight + 10
        svg.append(ColourScale.sequential().legend(label: "score (mean attention weight)"), dx: 0, dy: legendY)
        return svg.rendered(width: width, height: legendY + ColourScale.legendHeight, label: "head scores")
    }

    public var caption: String {
        let best = kinds.compactMap { kind -> String? in
            scores.heads(kind, threshold: -.infinity).first.map { "\(Self.title(kind)) L\($0.layer)H\($0.head) (\(SVG.value($0.score)))" }
        }
        return "Head-type scores: the mean attention weight each head puts on the key its kind predicts. Highest: "
            + best.joined(separator: "; ") + "."
    }
}
