/// A use of sparse autoencoders that cannot work.
public enum SparseAutoencoderError: Error, CustomStringConvertible, Equatable {
    /// Two SAEs spliced at one hook point (their activations would share names).
    case duplicateHook(String)
    /// A feature index outside `0..<dSAE`.
    case featureOutOfRange(hook: String, feature: Int, dSAE: Int)
    /// A reconstruction report of fewer than two tokens (no next-token loss).
    case promptTooShort(Int)

    public var description: String {
        switch self {
        case .duplicateHook(let name):
            return "two SAEs are spliced at '\(name)'; splice at most one SAE per hook point"
        case let .featureOutOfRange(hook, feature, dSAE):
            return "feature \(feature) of the SAE at '\(hook)' is out of range: it has \(dSAE) features (0...\(dSAE - 1))"
        case .promptTooShort(let count):
            return "the prompt has \(count) token\(count == 1 ? "" : "s"); the reconstruction report needs at least 2 (a next-token loss)"
        }
    }
}
