import Foundation
import Testing
import TestScratch
import Circuits

/// Broken copies of the fuzz-gguf seeds of the architectures read through their own tensor layouts (phi3's and
/// gpt2's fused attn_qkv, olmo2's post-norms and whole-projection q/k norms, smollm3's NoPE layers): a renamed
/// tensor or metadata key, or a file cut in half, must be refused with an error naming the file and what is wrong.
@Suite struct GGUFSeedVariantTests {
    /// (seed, a tensor it needs, a metadata key it needs).
    static let seeds = [
        ("tiny-phi3.gguf", "blk.0.attn_qkv.weight", "phi3.block_count"),
        ("tiny-gpt2.gguf", "position_embd.weight", "gpt2.attention.layer_norm_epsilon"),
        ("tiny-olmo2.gguf", "blk.0.post_ffw_norm.weight", "olmo2.attention.head_count"),
        ("tiny-smollm3.gguf", "blk.0.ffn_gate.weight", "smollm3.feed_forward_length"),
    ]

    @Test(arguments: seeds)
    func brokenCopiesAreRefusedByName(seed: String, tensor: String, key: String) throws {
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("Fuzz/Corpus/fuzz-gguf/\(seed)"))
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent(seed)
            try data.write(to: url)
            #expect(try LanguageModel.load(gguf: url).model.layerCount == 1)
            let variants = [(renaming(tensor, in: data), tensor), (renaming(key, in: data), key),
                            (data.prefix(data.count / 2), "past the end of the")]
            for (variant, named) in variants {
                try variant.write(to: url)
                do {
                    _ = try LanguageModel.load(gguf: url)
                    Issue.record("\(seed): the copy without \(named) loaded")
                } catch {
                    let message = "\(error)"
                    #expect(message.contains(url.path) && message.contains(named), "\(seed): '\(message)'")
                }
            }
        }
    }

    /// `data` with the last two characters of the (unique) string `name` replaced, so that it is no longer found.
    private func renaming(_ name: String, in data: Data) -> Data {
        let bytes = Data(name.utf8)
        guard let range = data.range(of: bytes) else {
            Issue.record("\(name) is not in the seed")
            return data
        }
        var copy = data
        copy.replaceSubrange(range.upperBound - 2..<range.upperBound, with: Data("XX".utf8))
        return copy
    }
}
