import ArgumentParser
import Foundation

/// `--checkpoint FILE` and `--resume`: the options of the commands whose long runs save their state as they go
/// (`acdc`, `prune`) and continue from it.
struct CheckpointOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Save progress to this file every 50 tested edges (acdc) or steps (prune), at most once every 5 seconds.", valueName: "file"))
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

    /// A writer of the states it is offered to the checkpoint file (nil without `--checkpoint`), at most one write
    /// every ``CheckpointWriter/minimumSeconds``; call ``CheckpointWriter/finish()`` when the run ends.
    func writer<State: Encodable>() -> CheckpointWriter<State>? {
        checkpoint.map { CheckpointWriter(path: $0) }
    }
}

/// Writes a long run's states to its checkpoint file, at most one write every ``minimumSeconds``: the runs offer a
/// state every 50 tests or steps, which can come many times a second, and encoding a state can cost as much as
/// tens of tests. The state last offered is written by ``finish()`` if it was not yet, so a finished run always
/// leaves its final state. A failed write is reported on standard error and the run goes on: losing a checkpoint
/// should not lose the run.
final class CheckpointWriter<State: Encodable> {
    /// The least time between two writes, in seconds.
    static var minimumSeconds: Double { 5 }
    let path: String
    private var lastWrite: UInt64?
    private var pending: State?

    init(path: String) { self.path = path }

    /// Writes `state` if the last write was at least ``minimumSeconds`` ago, else keeps it for ``finish()``.
    func offer(_ state: State) {
        let now = DispatchTime.now().uptimeNanoseconds
        if let lastWrite, Double(now - lastWrite) < Self.minimumSeconds * 1e9 {
            pending = state
            return
        }
        write(state)
        lastWrite = now
    }

    /// Writes the state last offered, unless it was written when offered.
    func finish() {
        if let pending { write(pending) }
    }

    private func write(_ state: State) {
        pending = nil
        do {
            try Output.write(try JSONEncoder().encode(state), to: path)
        } catch {
            FileHandle.standardError.write(Data("warning: could not save the checkpoint \(path): \(error)\n".utf8))
        }
    }
}
