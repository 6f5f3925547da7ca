// Fuzzes TaskFile(contentsOf:): the input is a task file (JSON array, JSON object or JSONL).
import FuzzSupport
import Interp

runFuzzer { data in
    let url = scratchFile(data, named: "task.json")
    expectCleanFailure(mentioning: url.path) {
        _ = try TaskFile(contentsOf: url).jsonData()
    }
}
