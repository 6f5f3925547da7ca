import Testing
import Interp
import TestModels

/// Passes that leave rows out of the projections and MLPs must give every row they read the values of the full
/// padded pass to the bit: padding positions (``AttentionContext/skippingPaddingProducts()``, used by activation
/// patching's passes over prompts of mixed lengths) and, in a last block, every position but the read ones
/// (``AttentionContext/readingOutputs(atRows:)``), with products on either side of the GEMM's row-dot bound and
/// with hooks inside a block.
@Suite struct PaddingProductsTests {
    static let llama = TestModels.make(llama: true, layers: 3, kvHeads: 2)
    static let gpt2 = TestModels.make(llama: false, layers: 3)

    /// Runs every block of `model` on `lengths` sequences right-padded to the longest, with every product and with
    /// padding products left out (and, with `readOnly`, the last block's outputs at each sequence's last token
    /// only), and compares the rows read bit for bit. Returns the number of rows the pass without padding computes.
    @discardableResult
    static func expectSameValues(_ model: TransformerModel, lengths: [Int], hooks: ForwardHooks? = nil, readOnly: Bool = false) -> Int? {
        let sequences = lengths.enumerated().map { s, length in (0..<length).map { (5 * s + 3 * $0 + 1) % 23 } }
        let batch = TokenBatch.padding(sequences), positions = batch.length
        let context = AttentionContext(batch: batch), skipping = context.skippingPaddingProducts()
        let embedded = model.embed(batch, context: context, hooks: nil)
        let padded = model.runBlocks(0..<model.layerCount, residual: embedded, context: context, hooks: hooks)
        var skipped = model.runBlocks(0..<model.layerCount, residual: embedded, context: skipping, hooks: hooks)
        if readOnly {
            let last = model.layerCount - 1
            let reads = lengths.enumerated().map { $0.offset * positions + $0.element - 1 }
            let beforeLast = model.runBlocks(0..<last, residual: embedded, context: skipping, hooks: hooks)
            let reading = skipping.readingOutputs(atRows: reads)
            #expect(reading.outputRows.map { Set(reads).isSubset(of: $0) } == true)
            skipped = model.runBlocks(last..<model.layerCount, residual: beforeLast, context: reading, hooks: hooks)
        }
        let width = padded.shape[2]
        for (s, length) in lengths.enumerated() {
            let rows = readOnly ? ((s * positions + length - 1) * width)..<((s * positions + length) * width)
                                : (s * positions * width)..<((s * positions + length) * width)
            #expect(Array(padded.scalars[rows]) == Array(skipped.scalars[rows]), "sequence \(s) of \(lengths)")
        }
        return skipping.computedRows?.count
    }

    /// 80 real of 96 rows: both above the row-dot bound of 64 (packed products), grouped-query Llama blocks.
    @Test func packedProductsOfALlamaModel() {
        #expect(Self.expectSameValues(Self.llama, lengths: [16, 14, 12, 10, 15, 13]) == 80)
    }

    /// 20 real of 24 rows: both row-dot products, GPT-2 blocks (biases, LayerNorm, ungated MLP).
    @Test func rowDotProductsOfAGPT2Model() {
        #expect(Self.expectSameValues(Self.gpt2, lengths: [8, 5, 7]) == 20)
    }

    /// 64 real rows of 80: alone they would take the row-dot kernel (other rounding), so one padding row is
    /// computed too.
    @Test func fillsUpToTheRowDotBound() {
        #expect(Self.expectSameValues(Self.llama, lengths: [16, 16, 16, 8, 8]) == 65)
    }

    /// Hooks inside the attention (`hook_q`) and the MLP (`hook_post`) of one block: that MLP runs on every row,
    /// the hooks see padded tensors, and the real tokens still match.
    @Test func hooksInsideABlock() {
        let hooks = ForwardHooks()
        hooks.add(.q(1)) { q, _ in q * 1.5 }
        hooks.add(.mlpPost(1)) { post, _ in post + 0.25 }
        Self.expectSameValues(Self.llama, lengths: [16, 14, 12, 10, 15, 13], hooks: hooks)
    }

    /// Gemma-2 blocks (a sliding window of 4 in layer 0, soft-capping, post-norms), every block and the last one read
    /// at the read positions.
    @Test func gemma2Blocks() throws {
        let model = try TestModels.gemma2SlidingWindowCase().model
        Self.expectSameValues(model, lengths: [12, 9, 7])
        Self.expectSameValues(model, lengths: [12, 9, 7], readOnly: true)
    }

    /// The last block read at one position per sequence: 6 read rows filled up to 65 of 80 (packed products), and
    /// 3 of 20 (row-dot products), also with hooks in the last block.
    @Test func lastBlockAtTheReadPositions() {
        Self.expectSameValues(Self.llama, lengths: [16, 14, 12, 10, 15, 13], readOnly: true)
        Self.expectSameValues(Self.gpt2, lengths: [8, 5, 7], readOnly: true)
        let hooks = ForwardHooks()
        hooks.add(.z(2)) { z, _ in z * 0.5 }
        hooks.add(.mlpPre(2)) { pre, _ in pre - 0.1 }
        Self.expectSameValues(Self.llama, lengths: [16, 14, 12, 10, 15, 13], hooks: hooks, readOnly: true)
    }
}
