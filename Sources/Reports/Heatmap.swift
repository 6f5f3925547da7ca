import Foundation

/// A labelled grid of coloured cells, the building block of the attention, patching, DLA and head-score
/// views. Cells carry a `<title>` tooltip; the drawing's origin is its top-left corner.
struct Heatmap {
    var rowLabels: [String]
    var columnLabels: [String]
    /// Row-major, `rowLabels.count × columnLabels.count`.
    var values: [Float]
    var scale: ColourScale
    var cellWidth = 22.0
    var cellHeight = 22.0
    var title: String?
    var rowAxisName: String?
    var columnAxisName: String?
    /// Token labels are drawn in a monospace font.
    var tokenRows = false
    var tokenColumns = false
    /// Whether to draw row and column labels at all (small multiples leave them out).
    var showLabels = true
    /// Text inside a cell (nil: none).
    var cellText: ((_ row: Int, _ column: Int) -> String?)?
    /// The tooltip of a cell (nil: none).
    var cellTitle: (_ row: Int, _ column: Int) -> String?
    /// Cells drawn in neutral grey, e.g. future positions of a causal attention pattern.
    var isMasked: ((_ row: Int, _ column: Int) -> Bool)?

    static let maximumLabelLength = 14

    init(rowLabels: [String], columnLabels: [String], values: [Float], scale: ColourScale,
         cellTitle: @escaping (Int, Int) -> String?) {
        precondition(values.count == rowLabels.count * columnLabels.count, "heatmap values do not match its labels")
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.values = values
        self.scale = scale
        self.cellTitle = cellTitle
    }

    private var shownRows: [String] { rowLabels.map { Markup.abbreviated($0, to: Self.maximumLabelLength) } }
    private var shownColumns: [String] { columnLabels.map { Markup.abbreviated($0, to: Self.maximumLabelLength) } }
    private var columnAdvance: Double { tokenColumns ? SVG.monospaceAdvance : SVG.sansAdvance }
    private var longestColumn: Double { Double(shownColumns.map(\.count).max() ?? 0) * columnAdvance }
    private var rotatesColumns: Bool { longestColumn > cellWidth - 2 }

    /// Space above the cells: title, column axis name, column labels.
    private var top: Double {
        var height = title == nil ? 0 : 20.0
        if showLabels {
            if columnAxisName != nil { height += 16 }
            height += rotatesColumns ? longestColumn * 0.82 + 10 : 16
        }
        return height
    }

    /// Space left of the cells: row axis name and row labels.
    private var left: Double {
        guard showLabels else { return 0 }
        let advance = tokenRows ? SVG.monospaceAdvance : SVG.sansAdvance
        return Double(shownRows.map(\.count).max() ?? 0) * advance + 8 + (rowAxisName == nil ? 0 : 18)
    }

    var width: Double {
        let cells = left + Double(columnLabels.count) * cellWidth
        // A rotated last label leans right of the grid.
        return cells + (showLabels && rotatesColumns ? longestColumn * 0.57 : 0) + 2
    }

    var height: Double { top + Double(rowLabels.count) * cellHeight + 2 }

    /// The grid's top-left corner within the drawing.
    var gridOrigin: (x: Double, y: Double) { (left, top) }

    func drawing() -> SVG {
        var svg = SVG()
        let (x0, y0) = (left, top)
        let columns = columnLabels.count
        if let title {
            svg.text(title, x: x0, y: 9, bold: true)
        }
        if showLabels {
            if let columnAxisName {
                svg.text(columnAxisName, x: x0 + Double(columns) * cellWidth / 2, y: (title == nil ? 0 : 20) + 7,
                         anchor: .middle, colour: "#555555")
            }
            for (c, label) in shownColumns.enumerated() {
                let x = x0 + (Double(c) + 0.5) * cellWidth
                if rotatesColumns {
                    svg.text(label, x: x, y: y0 - 5, monospace: tokenColumns, rotation: -55, title: columnLabels[c])
                } else {
                    svg.text(label, x: x, y: y0 - 8, anchor: .middle, monospace: tokenColumns, title: columnLabels[c])
                }
            }
            for (r, label) in shownRows.enumerated() {
                svg.text(label, x: x0 - 5, y: y0 + (Double(r) + 0.5) * cellHeight, anchor: .end, monospace: tokenRows,
                         title: rowLabels[r])
            }
            if let rowAxisName {
                let y = y0 + Double(rowLabels.count) * cellHeight / 2
                svg.text(rowAxisName, x: 8, y: y, anchor: .middle, colour: "#555555", rotation: -90)
            }
        }
        let gap = Swift.min(cellWidth, cellHeight) >= 8 ? 1.0 : 0
        for r in rowLabels.indices {
            for c in 0..<columns {
                let value = values[r * columns + c]
                let masked = isMasked?(r, c) ?? false
                let x = x0 + Double(c) * cellWidth, y = y0 + Double(r) * cellHeight
                svg.rect(x: x, y: y, width: cellWidth - gap, height: cellHeight - gap,
                         fill: masked ? "#f3f3f3" : scale.colour(value), className: masked ? "cell masked" : "cell",
                         title: cellTitle(r, c))
                if let text = cellText?(r, c) {
                    svg.text(text, x: x + (cellWidth - gap) / 2, y: y + (cellHeight - gap) / 2, anchor: .middle,
                             size: cellHeight >= 20 ? 10 : 8, colour: masked ? "#999999" : scale.textColour(value),
                             monospace: true)
                }
            }
        }
        return svg
    }
}

extension ColourScale {
    /// A horizontal legend: `label`, a gradient bar `width` wide, and the values at its ends (and 0 for a
    /// diverging scale). About 40 px high.
    func legend(width: Double = 180, label: String) -> SVG {
        var svg = SVG()
        svg.text(label, x: 0, y: 6, colour: "#555555")
        let steps = 60, y = 14.0, barHeight = 10.0
        let step = width / Double(steps)
        for i in 0..<steps {
            let value = minimum + (maximum - minimum) * (Float(i) + 0.5) / Float(steps)
            svg.rect(x: Double(i) * step, y: y, width: step + 0.4, height: barHeight, fill: colour(value), className: "legend-step")
        }
        svg.rect(x: 0, y: y, width: width, height: barHeight, fill: "none", stroke: "#888888", strokeWidth: 0.5)
        var ticks: [(Float, SVG.Anchor)] = [(minimum, .start), (maximum, .end)]
        if isDiverging { ticks.insert((0, .middle), at: 1) }
        for (value, anchor) in ticks {
            let x = Double((value - minimum) / (maximum - minimum)) * width
            svg.line(x1: x, y1: y + barHeight, x2: x, y2: y + barHeight + 3, stroke: "#666666")
            svg.text(SVG.value(value), x: x, y: y + barHeight + 10, anchor: anchor, size: 10, colour: "#444444")
        }
        return svg
    }

    static let legendHeight = 40.0
}
