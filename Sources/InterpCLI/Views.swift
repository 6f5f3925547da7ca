import Circuits
import Foundation
import Reports

/// The HTML views the commands write with `--html`.
enum Views {
    static func write(lens: LogitLens, lm: LanguageModel, tokens: [Int], to path: String) throws {
        throw CLIError("--html is not available yet for this command")
    }
    static func write(dla: DirectLogitAttribution, title: String, to path: String) throws {
        throw CLIError("--html is not available yet for this command")
    }
    static func write(patterns: Tensor, scores: HeadScores, tokens: [String], to path: String) throws {
        throw CLIError("--html is not available yet for this command")
    }
    static func write(patching: [PatchingResult], normalized: Bool, to path: String) throws {
        throw CLIError("--html is not available yet for this command")
    }
    static func write(study: CircuitStudy, lm: LanguageModel, task: String, to path: String) throws {
        throw CLIError("--html is not available yet for this command")
    }
    static func write(circuit: Circuit, title: String, curve: FaithfulnessCurve? = nil, to path: String) throws {
        throw CLIError("--html is not available yet for this command")
    }
}
