/// An activation-patching result as a diverging heatmap (blue-white-red, centred at 0) with a legend.
///
/// A 2-D result is one heatmap (rows: its first axis, e.g. layer; columns: its second, e.g. position or
/// head). A 3-D result (`[layer, position, head]`) is drawn as one heatmap of the first two axes per label
/// of the third; a 4-D result (`[layer, head, destination, source]`) as a grid of small heatmaps of the
/// last two axes, rows and columns by the first two. With ``HigherAxes/sum`` the axes beyond the second
/// are summed instead, which the caption states.
///
/// ```swift
/// let result = try patching.sweep(.residPre)
/// let view = PatchingHeatmap(result, tokens: ["<bos>", " When", " Mary", ...])
/// ```
public struct PatchingHeatmap: ReportFigure {
    /// What the colours show.
    public enum Values: Sendable {
        /// `(v − corrupted) / (clean − corrupted)`: 0 = the corrupted run's metric, 1 = the clean run's.
        case normalized
        /// The metric values themselves.
        case raw
    }

    /// How axes beyond the second are shown.
    public enum HigherAxes: Sendable {
        case smallMultiples
        case sum
    }

    public let result: PatchingResult
    /// Labels for the position axes (`position`, `destination`, `source`), e.g. the clean prompt's tokens.
    public let tokens: [String]?
    public let values: Values
    public let higherAxes: HigherAxes

    public init(_ result: PatchingResult, tokens: [String]? = nil, values: Values = .normalized, higherAxes: HigherAxes = .smallMultiples) {
        precondition((2...4).contains(result.axes.count), "a patching heatmap needs a 2-, 3- or 4-D result, got \(result.shape)")
        self.result = result
        self.tokens = tokens
        self.values = values
        self.higherAxes = higherAxes
    }

    /// The axes with token labels where they fit.
    var axes: [(name: String, labels: [String], isTokens: Bool)] {
        result.axes.map { axis in
            if let tokens, axis.isPosition, tokens.count == axis.labels.count {
                return (axis.name, tokens.map(Markup.visibleToken), true)
            }
            return (axis.name, axis.labels, false)
        }
    }

    var shownValues: [Float] { values == .normalized ? result.normalized : result.values }

    /// The 2-D values after summing the axes beyond the second.
    var summed: [Float] {
        let planes = result.shape[0] * result.shape[1]
        let inner = shownValues.count / Swift.max(planes, 1)
        return (0..<planes).map { p in shownValues[(p * inner)..<((p + 1) * inner)].reduce(0, +) }
    }

    private func heatmap(rows: Int, columns: Int, values: [Float], scale: ColourScale, prefix: String) -> Heatmap {
        let axes = self.axes
        let (rowAxis, columnAxis) = (axes[rows], axes[columns])
        let width = columnAxis.labels.count
        var map = Heatmap(rowLabels: rowAxis.labels, columnLabels: columnAxis.labels, values: values, scale: scale) { r, c in
            "\(prefix)\(rowAxis.name) \(rowAxis.labels[r]), \(columnAxis.name) \(columnAxis.labels[c]): \(SVG.value(values[r * width + c]))"
        }
        map.rowAxisName = rowAxis.name
        map.columnAxisName = columnAxis.name
        map.tokenRows = rowAxis.isTokens
        map.tokenColumns = columnAxis.isTokens
        return map
    }

    public var svg: String {
        let axes = self.axes
        var svg = SVG()
        var width = 0.0, height = 0.0
        let title = "\(result.component) patching: \(result.metric)" + (values == .normalized ? " (normalized)" : "")
        svg.text(title, x: 0, y: 8, bold: true)
        let top = 24.0
        let flat = result.axes.count == 2 || higherAxes == .sum
        let scale = ColourScale.diverging(covering: flat ? summedOrValues : shownValues)
        if flat {
            var map = heatmap(rows: 0, columns: 1, values: summedOrValues, scale: scale, prefix: "")
            let size = Swift.min(32, Swift.max(12, (900 / Double(axes[1].labels.count)).rounded(.down)))
            map.cellWidth = size
            map.cellHeight = Swift.min(size, 24)
            if size >= 30 { map.cellText = { [summedOrValues] r, c in SVG.short(summedOrValues[r * axes[1].labels.count + c]) } }
            svg.append(map.drawing(), dx: 0, dy: top)
            (width, height) = (map.width, top + map.height)
            svg.append(scale.legend(label: legendLabel), dx: map.gridOrigin.x, dy: height + 10)
            width = Swift.max(width, map.gridOrigin.x + 190)
        } else if result.axes.count == 3 {
            let panelSize = result.shape[0] * result.shape[1]
            var x = 0.0, y = top, rowHeight = 0.0
            for (k, label) in axes[2].labels.enumerated() {
                let panel = (0..<panelSize).map { shownValues[$0 * result.shape[2] + k] }
                var map = heatmap(rows: 0, columns: 1, values: panel, scale: scale, prefix: "\(axes[2].name) \(label), ")
                map.cellWidth = Swift.min(20, Swift.max(8, (360 / Double(result.shape[1])).rounded(.down)))
                map.cellHeight = map.cellWidth
                map.title = "\(axes[2].name) \(label)"
                if x > 0 && x + map.width > 1240 { (x, y, rowHeight) = (0, y + rowHeight + 16, 0) }
                svg.append(map.drawing(), dx: x, dy: y, className: "panel")
                width = Swift.max(width, x + map.width)
                rowHeight = Swift.max(rowHeight, map.height)
                x += map.width + 24
            }
            height = y + rowHeight
            svg.append(scale.legend(label: legendLabel), dx: 0, dy: height + 10)
            width = Swift.max(width, 190)
        } else {
            let (rows, columns, inner) = (result.shape[0], result.shape[1], result.shape[2] * result.shape[3])
            let cell = Swift.max(1, Swift.min(8, (84 / Double(Swift.max(result.shape[2], result.shape[3]))).rounded(.down)))
            let (panelWidth, panelHeight) = (cell * Double(result.shape[3]), cell * Double(result.shape[2]))
            let labelWidth = Double(Swift.max(axes[0].labels.map(\.count).max() ?? 0, axes[1].name.count + 2)) * SVG.sansAdvance
            let gap = 10.0, left = 20 + labelWidth + 6, gridTop = top + 20
            svg.text("\(axes[1].name) →", x: left - 6, y: gridTop - 8, anchor: .end, colour: "#555555")
            for c in 0..<columns {
                svg.text(axes[1].labels[c], x: left + Double(c) * (panelWidth + gap) + panelWidth / 2, y: gridTop - 8,
                         anchor: .middle, colour: "#555555")
            }
            for r in 0..<rows {
                let y = gridTop + Double(r) * (panelHeight + gap)
                svg.text(axes[0].labels[r], x: left - 6, y: y + panelHeight / 2, anchor: .end, colour: "#555555")
                for c in 0..<columns {
                    let start = (r * columns + c) * inner
                    var map = heatmap(rows: 2, columns: 3, values: Array(shownValues[start..<(start + inner)]), scale: scale,
                                      prefix: "\(axes[0].name) \(axes[0].labels[r]), \(axes[1].name) \(axes[1].labels[c]), ")
                    map.cellWidth = cell
                    map.cellHeight = cell
                    map.showLabels = false
                    if axes[2].name == "destination" && axes[3].name == "source" { map.isMasked = { $1 > $0 } }
                    let x = left + Double(c) * (panelWidth + gap)
                    svg.append(map.drawing(), dx: x, dy: y, className: "panel",
                               title: "\(axes[0].name) \(axes[0].labels[r]), \(axes[1].name) \(axes[1].labels[c])")
                    svg.rect(x: x - 0.5, y: y - 0.5, width: panelWidth + 1, height: panelHeight + 1, fill: "none",
                             stroke: "#d0d0d0", strokeWidth: 0.5)
                }
            }
            svg.text(axes[0].name, x: 8, y: gridTop + Double(rows) * (panelHeight + gap) / 2, anchor: .middle,
                     colour: "#555555", rotation: -90)
            width = Swift.max(left + Double(columns) * (panelWidth + gap), 190)
            height = gridTop + Double(rows) * (panelHeight + gap)
            svg.append(scale.legend(label: legendLabel), dx: left, dy: height + 6)
        }
        return svg.rendered(width: width, height: height + 10 + ColourScale.legendHeight, label: title)
    }

    private var summedOrValues: [Float] { result.axes.count == 2 ? shownValues : summed }

    private var legendLabel: String {
        values == .normalized ? "0 = corrupted, 1 = clean" : result.metric
    }

    public var caption: String {
        var text = "Patching \(result.component) (\(result.direction)) with metric \(result.metric): clean run "
            + "\(SVG.value(result.cleanValue)), corrupted run \(SVG.value(result.corruptedValue)). "
        text += values == .normalized
            ? "Values are normalized: 1 restores the clean behaviour, 0 leaves the corrupted one; red above 0, blue below."
            : "Values are the metric of each patched run; red above 0, blue below."
        if result.axes.count > 2 {
            let extra = result.axes.dropFirst(2).map(\.name).joined(separator: " and ")
            text += higherAxes == .sum
                ? " Summed over \(extra) (shape \(result.shape) shown as \(result.axes[0].name) × \(result.axes[1].name))."
                : " One heatmap per \(result.axes.count == 3 ? extra : "\(result.axes[0].name) and \(result.axes[1].name)")."
        }
        if let tokens, !axes.contains(where: \.isTokens) {
            text += " (\(tokens.count) token labels did not match any position axis.)"
        }
        return text
    }
}
