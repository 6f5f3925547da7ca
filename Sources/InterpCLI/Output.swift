import Foundation
import LanguageModels

/// Printing results: JSON on request, text otherwise; progress on standard error when it is a terminal.
enum Output {
    /// Prints a value as pretty, key-sorted JSON.
    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Writes data to a file atomically (temporary file in the same directory, then rename), creating the directory.
    static func write(_ data: Data, to path: String) throws {
        do {
            try AtomicFile.write(data, to: URL(fileURLWithPath: path))
        } catch {
            throw CLIError("\(path): cannot be written (\(error))")
        }
    }

    /// A fixed-width number.
    static func number(_ value: Float, digits: Int = 4) -> String { String(format: "%.\(digits)f", value) }
}

/// A progress bar on standard error, drawn only when standard error is a terminal.
final class ProgressBar {
    private let label: String
    private let enabled = isatty(STDERR_FILENO) == 1
    private var lastDrawn = Date.distantPast

    init(_ label: String) { self.label = label }

    func update(_ done: Int, of total: Int) {
        guard enabled, done == total || Date().timeIntervalSince(lastDrawn) > 0.1 else { return }
        lastDrawn = Date()
        let width = 30, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) \(bar) \(done)/\(total)".utf8))
        if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// A user-facing error: printed as its message, no stack trace, non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
