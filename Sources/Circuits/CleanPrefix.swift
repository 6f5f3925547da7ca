import Foundation
import LanguageModels
import Tensors

/// The token positions that every edge-patched run of the clean prompts shares with the clean run, and the
/// clean run's keys and values there.
///
/// Attention is causal, so before the first position at which some sender's patch delta is nonzero in some
/// example (with the corrupted run as the source: the first corrupted token, e.g. IOI's second subject) every
/// patched run is the clean run itself, whichever edges it patches. A patched pass then computes only the later
/// positions, attending to the clean prefix's cached keys and values (as ``SingleEdgeRuns`` does for one edge).
/// The prefix never reaches a read position, and is empty in a position-aware graph.
final class CleanPrefix: @unchecked Sendable {
    /// The number of shared positions.
    let length: Int
    private let lock = NSLock()
    private var keyValues: KeyValueCache?

    /// The prefix of `patching`'s clean prompts before the first nonzero patch delta.
    init(senderDeltas: Tensor, pairs: PromptPairs, dModel: Int, positionAware: Bool) {
        length = positionAware ? 0 : Swift.min(
            SingleEdgeRuns.firstNonzeroPosition(senderDeltas, examples: pairs.count, length: pairs.length, width: dModel),
            pairs.readPositions.min()!)
    }

    /// The clean prompts' key-value cache after the prefix (computed on first use), repeated `variants` times
    /// along the batch; nil for an empty prefix.
    func cache(model: TransformerModel, clean: TokenBatch, variants: Int) -> KeyValueCache? {
        guard length > 0 else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if keyValues == nil { keyValues = model.keyValueCache(of: clean.slice(positions: 0..<length)) }
        return keyValues!.repeatedAlongBatch(variants)
    }

    /// `x` (`[batch, pos, ...]`) from the end of the prefix on.
    func later(_ x: Tensor) -> Tensor { length == 0 ? x : x.slice(axis: 1, length..<x.shape[1]) }

    /// The tokens of `batch` from the end of the prefix on.
    func later(_ batch: TokenBatch) -> TokenBatch {
        length == 0 ? batch : batch.slice(positions: length..<batch.length)
    }
}
