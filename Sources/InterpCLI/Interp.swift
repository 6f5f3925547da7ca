import ArgumentParser
import Foundation
import Tensors

/// The `interp` command-line tool.
@main
struct InterpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interp",
        abstract: "Mechanistic interpretability and circuit discovery for Hugging Face language models, on the CPU.",
        version: "0.1.0",
        subcommands: [
            InfoCommand.self, TokenizeCommand.self, RunCommand.self, LogitsCommand.self, GenerateCommand.self,
            TraceCommand.self, LensCommand.self, DLACommand.self, AttentionCommand.self,
            PatchCommand.self, AttributeCommand.self, SAECommand.self,
            PathPatchCommand.self, ACDCCommand.self, EAPCommand.self, NodeAttributionCommand.self, EvaluateCommand.self, GraphCommand.self,
            PruneCommand.self, MethodsBenchmarkCommand.self,
            TrainCommand.self, ExportCommand.self, DemoCommand.self, BenchCommand.self,
        ]
    )

    /// Keeps freed large tensors in the heap for the next forward pass (``AllocatorPolicy``) unless the environment
    /// sets `INTERP_SYSTEM_MALLOC` (the C library's default policy, for comparisons), then runs the command.
    static func main() {
        if ProcessInfo.processInfo.environment["INTERP_SYSTEM_MALLOC"] == nil { AllocatorPolicy.keepLargeBlocks() }
        main(nil)
    }
}
