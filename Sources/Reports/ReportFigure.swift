/// A drawing a report can show: one standalone SVG and its caption.
///
/// Every view of this module is a figure; ``ReportDocument`` places figures in titled sections.
public protocol ReportFigure {
    /// The drawing, a standalone `<svg>` element (well-formed XML, no scripts, no external resources).
    var svg: String { get }
    /// A plain-text caption; it is escaped when written.
    var caption: String { get }
}

extension ReportFigure {
    /// The figure as an HTML `<figure>` with its caption.
    public var html: String {
        "<figure>\n" + svg + "\n<figcaption>" + Markup.escape(caption) + "</figcaption>\n</figure>"
    }
}
