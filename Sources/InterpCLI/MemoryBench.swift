import Foundation
import LanguageModels

/// The `memory` suite: the peak resident memory (`VmHWM`) of loading a checkpoint and running a 1x16 forward
/// pass, against the checkpoint's weights at 4 bytes per parameter. Run it in its own process (the peak is
/// reset at the start where Linux allows it, but memory already held by earlier suites still counts).
struct MemoryBench {
    let report: BenchReport
    let directory: URL

    func run() throws {
        ProcessStatus.resetPeak()
        let baseline = ProcessStatus.kilobytes("VmRSS") ?? 0
        var model: TransformerModel?
        let checkpoint = try Checkpoint(directory: directory)
        let loadSeconds = try BenchTimer.seconds { model = try TransformerModel.load(checkpoint) }
        let afterLoad = ProcessStatus.kilobytes("VmRSS") ?? 0
        let tokens = BenchInputs.tokens(batch: 1, length: 16, vocabulary: model!.vocabularySize)
        let forwardSeconds = BenchTimer.seconds { _ = model!.forward(tokens) }
        guard let peak = ProcessStatus.kilobytes("VmHWM") else {
            BenchLog.note("memory: /proc/self/status has no VmHWM on this system; skipped")
            return
        }
        let weights = checkpoint.weights
        let parameters = try weights.tensorNames.reduce(0) { total, name in
            let info = try weights.info(named: name)
            return total + (info.dtype.isFloatingPoint ? info.elementCount : 0)
        }
        let fp32 = Double(parameters) * 4 / 1e9
        let gigabytes = { (kilobytes: Int) in Double(kilobytes) * 1024 / 1e9 }
        let name = directory.lastPathComponent
        report.record("memory", "fp32 weight size \(name)", value: fp32, unit: "GB",
                      detail: String(format: "%.1fM parameters, %@ on disk", Double(parameters) / 1e6,
                                     weights.dtype?.rawValue ?? "?"))
        report.record("memory", "peak RSS load + forward 1x16 \(name)", value: gigabytes(peak), unit: "GB",
                      reference: ("fp32 weight size", fp32), goal: "<= 1.3x",
                      detail: String(format: "RSS before %.3f GB, after load %.3f GB; load %.1f s, forward %.0f ms",
                                     gigabytes(baseline), gigabytes(afterLoad), loadSeconds, forwardSeconds * 1e3))
    }
}

/// Fields of `/proc/self/status` (Linux).
enum ProcessStatus {
    /// A `kB` field such as `VmRSS` or `VmHWM`; nil where the file or field does not exist.
    static func kilobytes(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ")[0])
        }
        return nil
    }

    /// Resets `VmHWM` to the current RSS (Linux 4.0+: writing 5 to `/proc/self/clear_refs`); ignored elsewhere.
    static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}
