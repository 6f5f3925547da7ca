import Foundation
import LanguageModels
import Tensors

/// The `memory` suite: the peak resident memory (`VmHWM`) of loading a checkpoint and running a 1x16 forward
/// pass, against the checkpoint's weights at 4 bytes per parameter and against its weight files on disk. Run it
/// in its own process (the peak is reset at the start where Linux allows it, but memory already held by earlier
/// suites still counts).
struct MemoryBench {
    let report: BenchReport
    let directory: URL
    /// `--compute` and `--memory-limit`.
    let loading: ModelLoadingOptions

    func run() throws {
        ProcessStatus.resetPeak()
        let baseline = ProcessStatus.kilobytes("VmRSS") ?? 0
        var model: TransformerModel?
        let loadSeconds = try BenchTimer.seconds { model = try loading.load(from: directory).model }
        let afterLoad = ProcessStatus.kilobytes("VmRSS") ?? 0
        let tokens = BenchInputs.tokens(batch: 1, length: 16, vocabulary: model!.vocabularySize)
        let forwardSeconds = BenchTimer.seconds { _ = model!.forward(tokens) }
        guard let peak = ProcessStatus.kilobytes("VmHWM") else {
            BenchLog.note("memory: /proc/self/status has no VmHWM on this system; skipped")
            return
        }
        let parameters = model!.parameterCount
        let fp32 = Double(parameters) * 4 / 1e9
        let disk = Double(try weightFileBytes()) / 1e9
        let gigabytes = { (kilobytes: Int) in Double(kilobytes) * 1024 / 1e9 }
        let name = directory.lastPathComponent
        report.record("memory", "fp32 weight size \(name)", value: fp32, unit: "GB",
                      detail: String(format: "%.1fM parameters, %.3f GB of weight files on disk", Double(parameters) / 1e6, disk))
        report.record("memory", "peak RSS load + forward 1x16 \(name)", value: gigabytes(peak), unit: "GB",
                      reference: ("fp32 weight size", fp32), goal: "<= 1.3x",
                      detail: String(format: "%.2fx the weight files; RSS before %.3f GB, after load %.3f GB; load %.1f s, forward %.0f ms",
                                     gigabytes(peak) / disk, gigabytes(baseline), gigabytes(afterLoad), loadSeconds,
                                     forwardSeconds * 1e3))
    }

    /// The bytes of the weights on disk: the GGUF file, or the directory's safetensors files.
    private func weightFileBytes() throws -> Int {
        let manager = FileManager.default
        let files = directory.pathExtension == "gguf" ? [directory]
            : try manager.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil).filter { $0.pathExtension == "safetensors" }
        return try files.reduce(0) { $0 + ((try manager.attributesOfItem(atPath: $1.path)[.size] as? Int) ?? 0) }
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
