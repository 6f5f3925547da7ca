/// An activation-patching result as a diverging heatmap (blue-white-red, centred at 0) with a legend.
///
/// A 2-D result is one heatmap (rows: its first axis, e.g. layer; columns: its second, e.g. position or
/// head). A 3-D result (`[layer, position, head]`) is drawn as one heatmap of the first two axes per label
/// of the third; a 4-D result (`[layer, head, destination, source]`) as a grid of small heatmaps of the
/// last two axes, rows and columns by the first two. With ``HigherAxes/sum`` the axes beyond the second
/// are summed instead, which the caption states.
///
/// Prompts of different lengths are right-padded to the longest, so a sweep over every position index has
/// positions that are padding for the prompt whose `tokens` label them: those positions are left out
/// (the caption says how many), never shown as tokens.
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
    /// Labels for the position axes (`position`, `destination`, `source`), e.g. the clean prompt's tokens;
    /// when there are fewer tokens than positions, the positions after them are padding and are left out.
    public let tokens: [String]?
    /// How many positions at the end of each position axis are padding after `tokens`, and not drawn.
    public let paddingCount: Int
    /// The result as drawn: without the padding positions.
    private let drawn: PatchingResult
    public let values: Values
    public let higherAxes: HigherAxes

    public init(_ result: PatchingResult, tokens: [String]? = nil, values: Values = .normalized, higherAxes: HigherAxes = .smallMultiples) {
        precondition((2...4).contains(result.axes.count), "a patching heatmap needs a 2-, 3- or 4-D result, got \(result.shape)")
        self.result = result
        self.tokens = tokens
        paddingCount = tokens.map { Self.padding(of: result, tokenCount: $0.count) } ?? 0
        drawn = paddingCount > 0 ? result.keepingPositions(tokens?.count ?? 0) : result
        self.values = values
        self.higherAxes = higherAxes
    }

    /// The padding positions after `tokenCount` tokens: nonzero only for a sweep over every position index
    /// (labels `0`, `1`, …) longer than the tokens.
    private static func padding(of result: PatchingResult, tokenCount: Int) -> Int {
        let positionAxes = result.axes.filter(\.isPosition)
        guard let length = positionAxes.first?.labels.count, tokenCount > 0, tokenCount < length,
              positionAxes.allSatisfy({ $0.labels == (0..<length).map(String.init) }) else { return 0 }
        return length - tokenCount
    }

    /// The axes with token labels where they fit.
    var axes: [(name: String, labels: [String], isTokens: Bool)] {
        drawn.axes.map { axis in
            if let tokens, axis.isPosition, tokens.count == axis.labels.count {
                return (axis.name, tokens.map(Markup.visibleToken), true)
            }
            return (axis.name, axis.labels, false)
        }
    }

    var shownValues: [Float] { values == .normalized ? drawn.normalized : drawn.values }

    /// The 2-D values after summing the axes beyond the second.
    var summed: [Float] {
        let planes = drawn.shape[0] * drawn.shape[1]
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
        let title = "\(drawn.component) patching: \(drawn.metric)" + (values == .normalized ? " (normalized)" : "")
        svg.text(title, x: 0, y: 8, bold: true)
        let top = 24.0
        let flat = drawn.axes.count == 2 || higherAxes == .sum
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
        } else if drawn.axes.count == 3 {
            let panelSize = drawn.shape[0] * drawn.shape[1]
            var x = 0.0, y = top, rowHeight = 0.0
            for (k, label) in axes[2].labels.enumerated() {
                let panel = (0..<panelSize).map { shownValues[$0 * drawn.shape[2] + k] }
                var map = heatmap(rows: 0, columns: 1, values: panel, scale: scale, prefix: "\(axes[2].name) \(label), ")
                map.cellWidth = Swift.min(20, Swift.max(8, (360 / Double(drawn.shape[1])).rounded(.down)))
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
            let (rows, columns, inner) = (drawn.shape[0], drawn.shape[1], drawn.shape[2] * drawn.shape[3])
            let cell = Swift.max(1, Swift.min(8, (84 / Double(Swift.max(drawn.shape[2], drawn.shape[3]))).rounded(.down)))
            let (panelWidth, panelHeight) = (cell * Double(drawn.shape[3]), cell * Double(drawn.shape[2]))
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

    private var summedOrValues: [Float] { drawn.axes.count == 2 ? shownValues : summed }

    private var legendLabel: String {
        values == .normalized ? "0 = corrupted, 1 = clean" : drawn.metric
    }

    public var caption: String {
        var text = "Patching \(drawn.component) (\(drawn.direction)) with metric \(drawn.metric): clean run "
            + "\(SVG.value(drawn.cleanValue)), corrupted run \(SVG.value(drawn.corruptedValue)). "
        text += values == .normalized
            ? "Values are normalized: 1 restores the clean behaviour, 0 leaves the corrupted one; red above 0, blue below."
            : "Values are the metric of each patched run; red above 0, blue below."
        if drawn.axes.count > 2 {
            let extra = drawn.axes.dropFirst(2).map(\.name).joined(separator: " and ")
            text += higherAxes == .sum
                ? " Summed over \(extra) (shape \(drawn.shape) shown as \(drawn.axes[0].name) × \(drawn.axes[1].name))."
                : " One heatmap per \(drawn.axes.count == 3 ? extra : "\(drawn.axes[0].name) and \(drawn.axes[1].name)")."
        }
        if paddingCount > 0 {
            let length = result.shape[result.axes.firstIndex(where: \.isPosition)!]
            text += " Positions \(length - paddingCount)–\(length - 1) are padding after the labelled prompt's "
                + "\(length - paddingCount) tokens (longer prompts fill them) and are not shown."
        }
        if let tokens, !axes.contains(where: \.isTokens) {
            text += " (\(tokens.count) token labels did not match any position axis.)"
        }
        return text
    }
}

private extension PatchingResult {
    /// The result with only the first `count` indices of every position axis.
    func keepingPositions(_ count: Int) -> PatchingResult {
        let shape = self.shape, strides = Tensor.zeros(shape).strides
        let kept = values.indices.filter { index in
            axes.indices.allSatisfy { !axes[$0].isPosition || (index / strides[$0]) % shape[$0] < count }
        }
        let cut = axes.map { $0.isPosition ? Axis(name: $0.name, labels: Array($0.labels.prefix(count))) : $0 }
        return PatchingResult(component: component, axes: cut, values: kept.map { values[$0] }, metric: metric,
                              direction: direction, cleanValue: cleanValue, corruptedValue: corruptedValue)
    }
}
