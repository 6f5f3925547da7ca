import Circuits
import Foundation

/// Printing patching results as text, JSON or an HTML heatmap.
enum Report {
    static func emit(_ result: PatchingResult, normalized: Bool, html: String?, json: Bool) throws {
        try emit([result], normalized: normalized, html: html, json: json)
    }

    static func emit(_ results: [PatchingResult], normalized: Bool, html: String?, json: Bool) throws {
        if normalized { try results.forEach { try $0.span.check(metric: $0.metric) } }
        if let html { try Views.write(patching: results, normalized: normalized, to: html) }
        if json { return try Output.json(results.count == 1 ? AnyEncodable(results[0]) : AnyEncodable(results)) }
        for result in results {
            let shown = normalized ? PatchingResult(component: result.component, axes: result.axes, values: result.normalized,
                                                    metric: result.metric + " (normalized)", direction: result.direction,
                                                    cleanValue: 1, corruptedValue: 0) : result
            print("\(shown.component) — \(shown.metric), \(shown.direction); clean \(Output.number(result.cleanValue)), corrupted \(Output.number(result.corruptedValue))")
            print(shown.axes.count == 2 ? shown.table : "")
            print("largest effects: " + shown.top(8).map { "\($0.labels.joined(separator: "/")) \(Output.number($0.value))" }.joined(separator: ", "))
            print()
        }
    }
}
