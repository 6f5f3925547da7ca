import Foundation
import Testing
import TestScratch
import Reports

@Suite struct ReportDocumentTests {
    struct Figure: ReportFigure {
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"
        let caption = "caption <with> & \"markup\""
    }

    @Test func everyPieceOfTextIsEscaped() {
        let hostile = "<script>alert('x')</script> & \"q\""
        var report = ReportDocument(title: hostile, paragraphs: [hostile], details: [(hostile, hostile)])
        report.addSection(hostile, paragraphs: [hostile], figures: [Figure()])
        report.addSection("second")
        let html = report.html()
        #expect(!html.contains("<script>"))
        #expect(!html.contains("'x'"))
        // <title>, <h1>, the paragraph, the detail's key and value, the contents entry, <h2>, the section's paragraph.
        #expect(html.components(separatedBy: "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;").count - 1 == 8)
        #expect(html.contains("<figcaption>caption &lt;with&gt; &amp; &quot;markup&quot;</figcaption>"))
        #expect(html.components(separatedBy: "<section ").count - 1 == 2)
        #expect(html.contains("<a href=\"#section-2\">second</a>"))
    }

    @Test func writeCreatesTheDirectoryReplacesAndLeavesNoTemporaryFile() throws {
        try withTemporaryDirectory { scratch in
            let root = scratch.appendingPathComponent("report-write")
            let url = root.appendingPathComponent("nested/dir/report.html")
            try ReportDocument(title: "first").write(to: url)
            #expect(try String(contentsOf: url, encoding: .utf8).contains("<h1>first</h1>"))
            try ReportDocument(title: "second").write(to: url)
            let text = try String(contentsOf: url, encoding: .utf8)
            #expect(text.contains("<h1>second</h1>") && !text.contains("first"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path) == ["report.html"])
        }
    }

    @Test func unwritablePathNamesTheFile() throws {
        try withTemporaryDirectory { scratch in
            let root = scratch.appendingPathComponent("report-blocked")
            try Data("a file".utf8).write(to: root)
            let url = root.appendingPathComponent("report.html")       // its directory is a file
            #expect(throws: ReportError.self) { try ReportDocument(title: "x").write(to: url) }
            do { try ReportDocument(title: "x").write(to: url) } catch { #expect("\(error)".contains(url.path)) }
        }
    }
}
