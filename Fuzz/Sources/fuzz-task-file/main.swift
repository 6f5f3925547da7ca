// Fuzzes TaskFile(json:source:jsonLines:), what TaskFile(contentsOf:) calls once it has read the file: the input
// is a task file, read both as JSON (object or array) and as JSONL.
import Foundation
import FuzzSupport
import Interp

runFuzzer { data in
    for (source, jsonLines) in [("task.json", false), ("task.jsonl", true)] {
        expectCleanFailure(mentioning: source) {
            _ = try TaskFile(json: data, source: source, jsonLines: jsonLines).jsonData()
        }
    }
}
