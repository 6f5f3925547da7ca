import Foundation
import FuzzDriver

/// The function libFuzzer calls for every input (a C callback cannot capture it).
private var currentTest: ((Data) -> Void)?

/// Runs libFuzzer over `test` with the process's command-line flags (corpus directories, `-max_total_time=`,
/// ...) and exits with libFuzzer's status.
///
/// ```swift
/// runFuzzer { data in expectCleanFailure { _ = try parse(data) } }
/// ```
public func runFuzzer(_ test: @escaping (Data) -> Void) -> Never {
    currentTest = test
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in
        currentTest!(count == 0 ? Data() : Data(bytes: bytes!, count: count))
        return 0
    })
}

/// This process's scratch directory for inputs that parsers only read from files.
private let scratchDirectory: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("interp-fuzz-\(getpid())")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()

/// Writes `data` to the file `name` in a per-process scratch directory and returns its location.
public func scratchFile(_ data: Data, named name: String) -> URL {
    let url = scratchDirectory.appendingPathComponent(name)
    try! data.write(to: url)
    return url
}

/// Runs `body`, which may succeed or throw; a thrown error must have a message that mentions `subject`
/// (when given), otherwise the input is reported to libFuzzer as a crash.
public func expectCleanFailure(mentioning subject: String? = nil, _ body: () throws -> Void) {
    do {
        try body()
    } catch {
        let message = "\(error)"
        guard !message.isEmpty, subject.map(message.contains) ?? true else {
            fatalError("\(type(of: error)) thrown with a message that does not name \(subject ?? "anything"): '\(message)'")
        }
    }
}
