import LanguageModels
import Tensors

/// One layer's head-sender deltas during a batched patched pass, held in z space: `current z − source z`,
/// `[variants, batch·pos, heads, dHead]`, `dModel / dHead` times smaller than the heads' outputs.
///
/// Without a post-attention norm a head's output is `z_h · W_O[:, h]ᵀ` (TransformerLens' `hook_result`; the
/// output bias is a constant of the residual stream), so its patch delta is linear in z:
/// `source_h − current_h = −(z_cur,h − z_src,h) · W_O[:, h]ᵀ`. ``EdgePatching/receiverInput(_:deltas:zDeltas:baseDelta:receivers:perHead:current:)``
/// mixes a head into a receiver's input through W_O only where the receiver's weight on it is nonzero, one layer
/// at a time, so no `dModel`-wide output per head sender is held for the pass. Used when the patch source is kept
/// compact (``SenderSources``: a large model) and the layer has no post-attention norm.
struct HeadZDeltas {
    let layer: Int
    /// The graph index of the layer's first head.
    let firstSender: Int
    let heads: Int
    let variants: Int
    /// `current z − source z`, `[variants · batch·pos, heads, dHead]`; the delta is this through W_O with sign −1.
    let values: Tensor
    private let output: WeightMatrix
    /// The output differences kept for the later receivers of the pass.
    private let kept: KeptHeadDifferences

    /// The deltas of layer `layer`'s heads from this pass's `hook_z` (`[variants · batch, pos, heads, dHead]`)
    /// and the source's (`[batch, pos, heads, dHead]`).
    init(layer: Int, firstSender: Int, attention: Attention, current z: Tensor, source: Tensor, variants: Int,
         kept: KeptHeadDifferences) {
        self.layer = layer
        self.kept = kept
        self.firstSender = firstSender
        heads = attention.heads
        self.variants = variants
        values = (z.reshaped([variants, -1]) - source.reshaped([-1])).reshaped([-1, attention.heads, attention.headDim])
        output = attention.output.matrix
    }

    /// The graph indices of the layer's heads.
    var senders: Range<Int> { firstSender..<(firstSender + heads) }

    /// `current − source` output of head `head` in variant `variant`, `[batch·pos·dModel]` (sign −1 gives the delta).
    func outputDifference(head: Int, variant: Int) -> Tensor {
        let rows = values.shape[0] / variants, headDim = values.shape[2]
        let z = values.slice(axis: 0, (variant * rows)..<((variant + 1) * rows)).select(axis: 1, head)
        return z.matmul(output.columns((head * headDim)..<((head + 1) * headDim)), transposeOther: true).reshaped([-1])
    }

    /// Adds to `mix` every head of the layer with its weights per row (`weights(sender)`, already signed for a
    /// delta `source − current`), the outputs computed (or taken from `kept`) only for heads with a nonzero weight,
    /// then folds `mix` into its sums so that the outputs are released before the next layer's are computed.
    func add(to mix: inout Tensor.WeightedSums, variant: Int, weights: (_ sender: Int) -> [Float]) {
        let used = senders.map { (sender: $0, weights: weights($0)) }.filter { $0.weights.contains { $0 != 0 } }
        guard !used.isEmpty else { return }
        for (sender, headWeights) in used {
            let difference = kept.difference(sender: sender, variant: variant) {
                outputDifference(head: sender - firstSender, variant: variant)
            }
            mix.add(.init(difference), weights: headWeights.map { -$0 })
        }
        mix.fold()
    }
}

/// The head output differences (``HeadZDeltas/outputDifference(head:variant:)``) of one patched pass, each computed
/// once and kept for every later receiver group that weighs it, up to ``EdgePatching/keptHeadDifferenceByteLimit``
/// bytes (the earliest heads, which the most later receivers read); beyond it they are recomputed when read.
/// A kept difference is the very tensor a recomputation gives, so the mixes are the same either way.
final class KeptHeadDifferences {
    private var kept: [Int: [Int: Tensor]] = [:]
    private var bytesLeft: Int

    init(byteLimit: Int) {
        bytesLeft = byteLimit
    }

    /// Sender `sender`'s difference in variant `variant`: the kept one, or `compute()`'s, kept while bytes are left.
    func difference(sender: Int, variant: Int, compute: () -> Tensor) -> Tensor {
        if let known = kept[sender]?[variant] { return known }
        let difference = compute()
        let bytes = difference.count * MemoryLayout<Float>.size
        if bytes <= bytesLeft {
            kept[sender, default: [:]][variant] = difference
            bytesLeft -= bytes
        }
        return difference
    }
}
