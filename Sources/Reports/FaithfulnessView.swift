import Foundation

/// Faithfulness curves: faithfulness (0 = corrupted run, 1 = clean run) against the fraction of the graph's
/// edges kept, on a logarithmic or linear axis, one line per curve, with the areas in the caption.
///
/// ```swift
/// let curve = patching.faithfulnessCurve(scores, sizes: [10, 30, 100, 300, 1000])
/// report.addSection("Faithfulness", figures: [FaithfulnessView(curve, label: "EAP-IG")])
/// ```
public struct FaithfulnessView: ReportFigure {
    public let curves: [(label: String, curve: FaithfulnessCurve)]
    /// Whether the edge fraction axis is logarithmic.
    public let logarithmic: Bool

    /// - Parameter logarithmic: nil chooses a log axis when the fractions span more than a decade.
    public init(curves: [(label: String, curve: FaithfulnessCurve)], logarithmic: Bool? = nil) {
        self.curves = curves
        let fractions = curves.flatMap { $0.curve.points.map(\.fraction) }.filter { $0 > 0 }
        self.logarithmic = logarithmic ?? ((fractions.max() ?? 1) / (fractions.min() ?? 1) > 10)
    }

    public init(_ curve: FaithfulnessCurve, label: String = "circuit", logarithmic: Bool? = nil) {
        self.init(curves: [(label, curve)], logarithmic: logarithmic)
    }

    static let palette = ["#3366cc", "#e6550d", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"]

    /// The x range: powers of ten around the positive fractions (log), or `[0, 1]`.
    private var xRange: (low: Double, high: Double) {
        guard logarithmic else { return (0, 1) }
        let fractions = curves.flatMap { $0.curve.points.map { Double($0.fraction) } }.filter { $0 > 0 }
        let low = (fractions.min() ?? 1e-3), high = (fractions.max() ?? 1)
        return (pow(10, floor(log10(low))), Swift.max(pow(10, ceil(log10(high))), 10 * pow(10, floor(log10(low)))))
    }

    public var svg: String {
        var svg = SVG()
        let (left, top, plotWidth, plotHeight) = (56.0, 24.0, 640.0, 320.0)
        let ys = curves.flatMap { $0.curve.points.map { Double($0.faithfulness) } }
        let yLow = Swift.min(0, ((ys.min() ?? 0) * 10).rounded(.down) / 10)
        let yHigh = Swift.max(1.1, ((ys.max() ?? 1) * 10).rounded(.up) / 10)
        let range = xRange
        func x(_ fraction: Double) -> Double {
            let t = logarithmic ? (log10(fraction) - log10(range.low)) / (log10(range.high) - log10(range.low))
                                : (fraction - range.low) / (range.high - range.low)
            return left + t * plotWidth
        }
        func y(_ value: Double) -> Double { top + (yHigh - value) / (yHigh - yLow) * plotHeight }

        svg.text("faithfulness against circuit size", x: 0, y: 8, bold: true)
        svg.rect(x: left, y: top, width: plotWidth, height: plotHeight, fill: "#fcfcfc", stroke: "#cccccc", strokeWidth: 0.5)
        for step in Int((yLow * 5).rounded(.up))...Int((yHigh * 5).rounded(.down)) {
            let tick = Double(step) / 5
            svg.line(x1: left, y1: y(tick), x2: left + plotWidth, y2: y(tick), stroke: "#eeeeee")
            svg.text(String(format: "%.1f", tick), x: left - 6, y: y(tick), anchor: .end, size: 10, colour: "#555555")
        }
        let xTicks: [Double] = logarithmic
            ? stride(from: log10(range.low), through: log10(range.high) + 1e-9, by: 1).map { pow(10, $0) }
            : stride(from: 0.0, through: 1.0001, by: 0.2).map { $0 }
        for tick in xTicks {
            svg.line(x1: x(tick), y1: top, x2: x(tick), y2: top + plotHeight, stroke: "#eeeeee")
            svg.text(Self.percent(tick), x: x(tick), y: top + plotHeight + 12, anchor: .middle, size: 10, colour: "#555555")
        }
        for (value, label) in [(1.0, "clean"), (0.0, "corrupted")] {
            svg.line(x1: left, y1: y(value), x2: left + plotWidth, y2: y(value), stroke: "#888888", dash: "4 3")
            svg.text(label, x: left + plotWidth - 4, y: y(value) - 7, anchor: .end, size: 10, colour: "#777777")
        }
        svg.text("edges kept (fraction of the graph\(logarithmic ? ", log scale" : ""))", x: left + plotWidth / 2,
                 y: top + plotHeight + 30, anchor: .middle, colour: "#444444")
        svg.text("faithfulness", x: 12, y: top + plotHeight / 2, anchor: .middle, colour: "#444444", rotation: -90)

        let legendWidth = 44 + Double(curves.map { $0.label.count + 42 }.max() ?? 0) * SVG.sansAdvance
        svg.rect(x: left + 6, y: top + 5, width: legendWidth, height: Double(curves.count) * 16 + 4, fill: "#ffffff",
                 stroke: "#e4e4e4", strokeWidth: 0.5, opacity: 0.9)
        for (index, entry) in curves.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            let points = entry.curve.points.sorted { $0.fraction < $1.fraction }.filter { !logarithmic || $0.fraction > 0 }
            let coordinates = points.map { (x(Double($0.fraction)), y(Double($0.faithfulness))) }
            if !logarithmic, let first = coordinates.first, let last = coordinates.last {
                // The curve's areas count the empty graph as 0 and the full graph as 1.
                svg.path("M\(SVG.number(x(0))),\(SVG.number(y(0)))L\(SVG.number(first.0)),\(SVG.number(first.1))"
                         + "M\(SVG.number(last.0)),\(SVG.number(last.1))L\(SVG.number(x(1))),\(SVG.number(y(1)))",
                         stroke: colour, width: 1.2, opacity: 0.6, dash: "3 3")
            }
            let d = coordinates.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(SVG.number($0.element.0)),\(SVG.number($0.element.1))" }.joined()
            svg.path(d, stroke: colour, width: 2.2, className: "curve")
            for (point, (px, py)) in zip(points, coordinates) {
                svg.circle(x: px, y: py, radius: 3.2, fill: colour, stroke: "#ffffff", className: "point",
                           title: "\(entry.label): \(point.edgeCount) edges (\(Self.percent(Double(point.fraction)))): faithfulness \(SVG.value(point.faithfulness))")
            }
            let legendY = top + 14 + Double(index) * 16
            svg.line(x1: left + 12, y1: legendY, x2: left + 32, y2: legendY, stroke: colour, width: 2.2)
            svg.text("\(entry.label): area under \(SVG.value(entry.curve.area)), area from 1 \(SVG.value(entry.curve.areaFromOne))",
                     x: left + 38, y: legendY, colour: "#333333")
        }
        return svg.rendered(width: left + plotWidth + 16, height: top + plotHeight + 42, label: "faithfulness curve")
    }

    /// `0.1%`, `2%`, `100%`.
    static func percent(_ fraction: Double) -> String {
        let value = fraction * 100
        if value >= 1 || value == 0 { return String(format: "%.0f%%", value) }
        return String(format: "%g%%", Double(String(format: "%.2g", value))!)
    }

    public var caption: String {
        "Faithfulness of the top-n circuits (every other edge patched): 1 = the clean run's metric, 0 = the corrupted run's. "
            + curves.map { "\($0.label): area under the curve \(SVG.value($0.curve.area)) (higher is better), area between the curve and 1 \(SVG.value($0.curve.areaFromOne)) (lower is better)" }
                .joined(separator: "; ") + "."
            + (logarithmic ? "" : " Dashed ends: the empty graph (0) and the full graph (1), which the areas include.")
    }
}
