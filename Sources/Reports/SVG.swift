import Foundation

/// A minimal SVG writer: elements are appended as text; every piece of user text is escaped here.
struct SVG {
    private(set) var elements: [String] = []

    /// Text metrics for layout: the advance of one character of the 11 px fonts used.
    static let monospaceAdvance = 6.7
    static let sansAdvance = 6.2

    /// A coordinate with at most one decimal.
    static func number(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.1f", rounded)
    }

    /// A value for a reader: three significant digits, no exponent for ordinary magnitudes.
    static func value(_ value: Float) -> String {
        if value.isNaN { return "NaN" }
        let magnitude = Swift.abs(value)
        if magnitude != 0 && (magnitude < 1e-3 || magnitude >= 1e5) { return String(format: "%.2e", value) }
        if magnitude >= 100 { return String(format: "%.0f", value) }
        if magnitude >= 10 { return String(format: "%.1f", value) }
        return String(format: magnitude >= 1 ? "%.2f" : "%.3f", value)
    }

    /// A value in at most four characters, for a cell: `.42`, `-1.3`, `12`, `0`.
    static func short(_ value: Float) -> String {
        let magnitude = Swift.abs(value)
        if magnitude < 0.005 { return "0" }
        if magnitude >= 9.95 { return String(format: "%.0f", value) }
        if magnitude >= 0.995 { return String(format: "%.1f", value) }
        let text = String(format: "%.2f", value)
        return text.replacingOccurrences(of: "0.", with: ".")
    }

    private static func attributes(_ pairs: [(String, String?)]) -> String {
        pairs.compactMap { name, value in value.map { " \(name)=\"\(Markup.escape($0))\"" } }.joined()
    }

    /// Any element, for attributes the shapes below do not name (`data-*`, dash patterns on paths): nil
    /// attributes are left out, values escaped.
    mutating func element(_ tag: String, _ attributes: [(String, String?)], title: String? = nil) {
        add(tag, attributes, title: title)
    }

    private mutating func add(_ tag: String, _ attributes: [(String, String?)], title: String?, content: String? = nil) {
        let open = "<\(tag)" + Self.attributes(attributes)
        let inner = (title.map { "<title>\(Markup.escape($0))</title>" } ?? "") + (content ?? "")
        elements.append(inner.isEmpty ? open + "/>" : open + ">" + inner + "</\(tag)>")
    }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String? = nil,
                       strokeWidth: Double? = nil, radius: Double? = nil, opacity: Double? = nil, className: String? = nil,
                       title: String? = nil) {
        add("rect", [("class", className), ("x", Self.number(x)), ("y", Self.number(y)), ("width", Self.number(width)),
                     ("height", Self.number(height)), ("rx", radius.map(Self.number)), ("fill", fill), ("stroke", stroke),
                     ("stroke-width", strokeWidth.map(Self.number)), ("opacity", opacity.map(Self.number))], title: title)
    }

    enum Anchor: String { case start, middle, end }

    /// Text whose vertical centre is at `y`; `rotation` in degrees around `(x, y)`.
    mutating func text(_ text: String, x: Double, y: Double, anchor: Anchor = .start, size: Double = 11,
                       bold: Bool = false, colour: String? = nil, monospace: Bool = false, rotation: Double? = nil,
                       className: String? = nil, title: String? = nil) {
        let transform = rotation.map { "rotate(\(Self.number($0)) \(Self.number(x)) \(Self.number(y)))" }
        add("text", [("class", className), ("x", Self.number(x)), ("y", Self.number(y + size * 0.35)),
                     ("text-anchor", anchor == .start ? nil : anchor.rawValue), ("font-size", size == 11 ? nil : Self.number(size)),
                     ("font-weight", bold ? "bold" : nil), ("fill", colour),
                     ("font-family", monospace ? "ui-monospace, Menlo, Consolas, monospace" : nil), ("transform", transform)],
            title: title, content: Markup.escape(text))
    }

    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String = "#999999", width: Double = 1,
                       dash: String? = nil) {
        add("line", [("x1", Self.number(x1)), ("y1", Self.number(y1)), ("x2", Self.number(x2)), ("y2", Self.number(y2)),
                     ("stroke", stroke), ("stroke-width", Self.number(width)), ("stroke-dasharray", dash)], title: nil)
    }

    mutating func path(_ d: String, stroke: String? = nil, width: Double? = nil, fill: String = "none", opacity: Double? = nil,
                       dash: String? = nil, className: String? = nil, title: String? = nil) {
        add("path", [("class", className), ("d", d), ("fill", fill), ("stroke", stroke), ("stroke-width", width.map(Self.number)),
                     ("stroke-opacity", opacity.map(Self.number)), ("stroke-dasharray", dash), ("stroke-linecap", stroke == nil ? nil : "round")],
            title: title)
    }

    mutating func circle(x: Double, y: Double, radius: Double, fill: String, stroke: String? = nil, className: String? = nil,
                         title: String? = nil) {
        add("circle", [("class", className), ("cx", Self.number(x)), ("cy", Self.number(y)), ("r", Self.number(radius)),
                       ("fill", fill), ("stroke", stroke)], title: title)
    }

    /// Another drawing, shifted by `(dx, dy)`, as one group.
    mutating func append(_ other: SVG, dx: Double = 0, dy: Double = 0, className: String? = nil, title: String? = nil) {
        let transform = dx == 0 && dy == 0 ? nil : "translate(\(Self.number(dx)) \(Self.number(dy)))"
        add("g", [("class", className), ("transform", transform)], title: title, content: other.elements.joined(separator: "\n"))
    }

    /// Another drawing as one group with the given attributes.
    mutating func group(_ other: SVG, _ attributes: [(String, String?)]) {
        add("g", attributes, title: nil, content: other.elements.joined(separator: "\n"))
    }

    /// The drawing as a standalone `<svg>` element, scaled down by CSS when wider than its container; with
    /// a `className`, that class's stylesheet sizes it instead, and its `viewBox` is left out (the drawing
    /// is placed by a script's transform, its size in `data-width` and `data-height`).
    func rendered(width: Double, height: Double, label: String, className: String? = nil) -> String {
        let size: String
        if let className {
            size = "class=\"\(Markup.escape(className))\" data-width=\"\(Self.number(width))\" data-height=\"\(Self.number(height))\""
        } else {
            size = "width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\""
        }
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" \(size) role=\"img\" aria-label=\"\(Markup.escape(label))\" "
            + "font-family=\"-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\" font-size=\"11\" fill=\"#222222\""
            + (className == nil ? " style=\"max-width:100%;height:auto\"" : "") + ">\n" + elements.joined(separator: "\n") + "\n</svg>"
    }
}
