import Circuits
import Foundation

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

/// A progress bar on standard error with counts and an ETA: redrawn in place (at most 10 times a second)
/// when standard error is a terminal, silent otherwise unless `forced` (`--progress`), which prints a line
/// every 5 seconds and at the end of each step instead, for logs.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let terminal = isatty(STDERR_FILENO) == 1
    private let forced: Bool
    private var lastDrawn = Date.distantPast
    private var step = "", stepStarted = Date(), lastDone = 0
    /// Whether a bar is drawing a library computation's steps: forward-pass bars stay hidden meanwhile, so
    /// the passes inside a step do not draw over the step's own bar.
    nonisolated(unsafe) private static var stepBarIsActive = false

    init(_ label: String, forced: Bool = false) {
        self.label = label
        self.forced = forced
    }

    /// A library reporter drawing on this bar.
    var reporter: ProgressReporter {
        Self.stepBarIsActive = true
        return ProgressReporter { update in self.update(update.done, of: update.total, step: update.step, unit: update.unit) }
    }

    func update(_ done: Int, of total: Int, step name: String = "", unit: String = "") {
        guard terminal || forced else { return }
        if name != step || done < lastDone {
            step = name
            stepStarted = Date()
        }
        lastDone = done
        let finished = done >= total
        guard finished || Date().timeIntervalSince(lastDrawn) > (terminal ? 0.1 : 5) else { return }
        lastDrawn = Date()
        let width = 30, filled = total > 0 ? width * Swift.min(done, total) / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        var text = "\(label)\(name.isEmpty ? "" : " \(name)") \(bar) \(done)/\(total)\(unit.isEmpty ? "" : " \(unit)")"
        let elapsed = Date().timeIntervalSince(stepStarted)
        if done > 0, !finished, elapsed > 1 {
            text += ", ETA " + Self.duration(elapsed / Double(done) * Double(total - done))
        }
        if terminal {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(text)\(finished && name.isEmpty ? "\n" : "")".utf8))
        } else {
            FileHandle.standardError.write(Data("\(text)\n".utf8))
        }
    }

    /// Shows every forward pass that runs longer than a second block by block, with an ETA (``ForwardProgress``),
    /// on a terminal, or in logs when the command line has `--progress`; not while a step bar is drawing.
    static func showLongForwardPasses() {
        let bar = ProgressBar("forward pass", forced: CommandLine.arguments.contains("--progress"))
        var started = Date()
        ForwardProgress.reporter = { done, total in
            if done == 0 { started = Date() }
            guard !stepBarIsActive, Date().timeIntervalSince(started) > 1 else { return }
            bar.update(done, of: total, unit: "blocks")
        }
    }

    /// Ends the bar's line (after the last step of a multi-step bar).
    func finish() {
        Self.stepBarIsActive = false
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}

/// A user-facing error: printed as its message, no stack trace, non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
