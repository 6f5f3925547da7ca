import Foundation
import Circuits

/// One self-contained HTML page: a title, free paragraphs, a table of contents and titled sections of
/// paragraphs and figures, with a small embedded stylesheet. Nothing is fetched: it reads offline. The only
/// scripts are the inline ones of interactive figures (``ReportFigure/pageAssets``), each written once.
///
/// All text is escaped (titles, paragraphs, details, captions, tokens inside figures).
///
/// ```swift
/// var report = ReportDocument(title: "IOI on gpt2", details: [("model", "gpt2"), ("prompts", "20")])
/// report.addSection("Direct logit attribution", paragraphs: ["Mean over prompts."], figures: [DLAView(dla)])
/// try report.write(to: URL(fileURLWithPath: "out/report.html"))
/// ```
public struct ReportDocument {
    /// A titled part of the page.
    public struct Section {
        public var title: String
        public var paragraphs: [String]
        public var figures: [ReportFigure]

        public init(title: String, paragraphs: [String] = [], figures: [ReportFigure] = []) {
            self.title = title
            self.paragraphs = paragraphs
            self.figures = figures
        }
    }

    public var title: String
    /// Paragraphs under the title.
    public var paragraphs: [String]
    /// Key-value facts shown as a small table under the title (model, task, method, ...).
    public var details: [(key: String, value: String)]
    public var sections: [Section]

    public init(title: String, paragraphs: [String] = [], details: [(key: String, value: String)] = [],
                sections: [Section] = []) {
        self.title = title
        self.paragraphs = paragraphs
        self.details = details
        self.sections = sections
    }

    /// Appends a section.
    public mutating func addSection(_ title: String, paragraphs: [String] = [], figures: [ReportFigure] = []) {
        sections.append(Section(title: title, paragraphs: paragraphs, figures: figures))
    }

    /// The whole page.
    public func html() -> String {
        let assets = pageAssets
        var lines = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
                     "<title>\(Markup.escape(title))</title>", "<style>\(Self.stylesheet)" + assets.map(\.stylesheet).joined() + "</style>",
                     "</head>", "<body>", "<main>", "<h1>\(Markup.escape(title))</h1>"]
        if !details.isEmpty {
            lines.append("<table class=\"details\">")
            lines += details.map { "<tr><th>\(Markup.escape($0.key))</th><td>\(Markup.escape($0.value))</td></tr>" }
            lines.append("</table>")
        }
        lines += paragraphs.map { "<p>\(Markup.escape($0))</p>" }
        if sections.count > 1 {
            lines.append("<nav><ol>")
            lines += sections.indices.map { "<li><a href=\"#section-\($0 + 1)\">\(Markup.escape(sections[$0].title))</a></li>" }
            lines.append("</ol></nav>")
        }
        for (index, section) in sections.enumerated() {
            lines.append("<section id=\"section-\(index + 1)\">")
            lines.append("<h2>\(Markup.escape(section.title))</h2>")
            lines += section.paragraphs.map { "<p>\(Markup.escape($0))</p>" }
            lines += section.figures.map(\.html)
            lines.append("</section>")
        }
        lines.append("</main>")
        lines += assets.map { "<script>\n" + $0.script + "</script>" }
        lines += ["</body>", "</html>", ""]
        return lines.joined(separator: "\n")
    }

    /// The figures' page assets, each once, in the order of first use.
    var pageAssets: [PageAsset] {
        var seen = Set<PageAsset>()
        return sections.flatMap(\.figures).flatMap(\.pageAssets).filter { seen.insert($0).inserted }
    }

    /// Writes the page to `url` atomically: the directory is created if needed, the page is written to a
    /// temporary file next to `url`, then renamed over it, so a reader never sees a partial file.
    ///
    /// - Throws: ``ReportError/cannotWrite(path:reason:)`` naming the file.
    public func write(to url: URL) throws {
        do {
            try AtomicFile.write(Data(html().utf8), to: url)
        } catch {
            throw ReportError.cannotWrite(path: url.path, reason: "\(error)")
        }
    }

    static let stylesheet = """

    body { margin: 0; background: #fafafa; color: #222; font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
    main { max-width: 1300px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; min-height: 100vh; box-sizing: border-box; }
    h1 { font-size: 26px; margin: 8px 0 12px; }
    h2 { font-size: 19px; margin: 40px 0 8px; padding-top: 12px; border-top: 1px solid #e4e4e4; }
    p { max-width: 80ch; white-space: pre-line; }
    nav ol { columns: 2; padding-left: 20px; color: #555; }
    nav a { color: #2a5db0; text-decoration: none; }
    table.details { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
    table.details th { text-align: left; color: #666; font-weight: normal; padding: 2px 16px 2px 0; }
    table.details td { font-family: ui-monospace, Menlo, Consolas, monospace; padding: 2px 0; }
    figure { margin: 16px 0 28px; overflow-x: auto; }
    figure svg { display: block; }
    figcaption { color: #555; font-size: 13px; max-width: 100ch; margin-top: 6px; white-space: pre-line; }
    svg text { white-space: pre; }

    """
}

/// Errors writing a report.
public enum ReportError: Error, CustomStringConvertible, Equatable {
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotWrite(path, reason): return "cannot write the report \(path): \(reason)"
        }
    }
}
