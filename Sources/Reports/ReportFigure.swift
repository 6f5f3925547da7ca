/// A drawing a report can show: one standalone SVG and its caption.
///
/// Every view of this module is a figure; ``ReportDocument`` places figures in titled sections. A figure
/// is its SVG in a `<figure>` with the caption unless it provides its own ``html`` (an interactive view),
/// with the inline code that HTML needs as ``pageAssets``.
public protocol ReportFigure {
    /// The drawing, a standalone `<svg>` element (well-formed XML, no scripts, no external resources).
    var svg: String { get }
    /// A plain-text caption; it is escaped when written.
    var caption: String { get }
    /// The figure as HTML (by default ``svgFigureHTML``).
    var html: String { get }
    /// Inline code the figure's HTML needs, written once per page however many figures need it.
    var pageAssets: [PageAsset] { get }
}

extension ReportFigure {
    public var html: String { svgFigureHTML }

    public var pageAssets: [PageAsset] { [] }

    /// The SVG as an HTML `<figure>` with its caption.
    public var svgFigureHTML: String {
        "<figure>\n" + svg + "\n<figcaption>" + Markup.escape(caption) + "</figcaption>\n</figure>"
    }
}

/// A stylesheet and a script that a page includes inline, once, for the figures that need them.
public struct PageAsset: Hashable, Sendable {
    public let stylesheet: String
    public let script: String

    public init(stylesheet: String, script: String) {
        self.stylesheet = stylesheet
        self.script = script
    }
}
