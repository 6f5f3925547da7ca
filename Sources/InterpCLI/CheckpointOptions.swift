import ArgumentParser
import Foundation

/// `--checkpoint FILE` and `--resume`: the options of the commands whose long runs save their state as they go
/// (`acdc`, `prune`) and continue from it.
struct CheckpointOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Save progress to this file every 50 tested edges (acdc) or steps (prune).", valueName: "file"))
    var checkpoint: String?
    @Flag(help: "Resume from the --checkpoint file if it exists.") var resume = false

    func validate() throws {
        if resume && checkpoint == nil { throw ValidationError("--resume needs --checkpoint FILE") }
    }

    /// The state to resume from: nil without `--resume`, or when the checkpoint file does not exist yet.
    /// - Parameter kind: what the file should hold, for the error when it holds something else ("an ACDC checkpoint").
    func saved<State: Decodable>(_ type: State.Type, kind: String) throws -> State? {
        guard resume, let checkpoint, FileManager.default.fileExists(atPath: checkpoint) else { return nil }
        do {
            return try JSONDecoder().decode(State.self, from: try Data(contentsOf: URL(fileURLWithPath: checkpoint)))
        } catch {
            throw CLIError("\(checkpoint): not \(kind) (\(error.localizedDescription))")
        }
    }

    /// A callback that writes each state it is given to the checkpoint file (nil without `--checkpoint`). A failed
    /// write is reported on standard error and the run goes on: losing a checkpoint should not lose the run.
    func saver<State: Encodable>() -> ((State) -> Void)? {
        checkpoint.map { path in
            { state in
                do {
                    try Output.write(try JSONEncoder().encode(state), to: path)
                } catch {
                    FileHandle.standardError.write(Data("warning: could not save the checkpoint \(path): \(error)\n".utf8))
                }
            }
        }
    }
}
