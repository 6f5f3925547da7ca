import Foundation
import Testing
import TestScratch
import Reports

@Suite struct SampleReportTests {
    /// Writes the sample report (to `SAMPLE_REPORT_PATH` when set, for scripts/render_report.sh) and checks
    /// that every section and figure made it into the page.
    @Test func sampleReportHasEverySectionAndFigure() throws {
        let report = try Sample.document()
        if let path = ProcessInfo.processInfo.environment["SAMPLE_REPORT_PATH"] {
            return try check(report, writtenTo: URL(fileURLWithPath: path))
        }
        try withTemporaryDirectory { try check(report, writtenTo: $0.appendingPathComponent("sample.html")) }
    }

    private func check(_ report: ReportDocument, writtenTo url: URL) throws {
        try report.write(to: url)
        let html = try String(contentsOf: url, encoding: .utf8)
        #expect(html.components(separatedBy: "<section ").count - 1 == report.sections.count)
        #expect(html.components(separatedBy: "<svg ").count - 1 == report.sections.map(\.figures.count).reduce(0, +))
        #expect(!html.contains("<script>alert"))
        // The only script is the interactive circuit view's (the 300-edge circuit), once.
        #expect(html.components(separatedBy: "<script>").count - 1 == 1)
    }
}
