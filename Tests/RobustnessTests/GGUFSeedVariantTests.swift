import Foundation
import Testing
import TestScratch
import Circuits

/// Broken copies of the fuzz-gguf seeds of the architectures read through their own tensor layouts (phi3's and
/// gpt2's fused attn_qkv, olmo2's post-norms and whole-projection q/k norms, smollm3's NoPE layers, olmoe's stacked
/// and Mixtral's per-expert experts): a renamed
/// tensor or metadata key, a lying block count, or a file cut in half, must be refused with an error naming the file
/// and what is wrong.
@Suite struct GGUFSeedVariantTests {
    /// (seed, a tensor it needs, a metadata key it needs; the key's prefix is the architecture).
    static let seeds = [
        ("tiny-gemma2.gguf", "blk.0.attn_q.weight", "gemma2.embedding_length"),
        ("tiny-phi3.gguf", "blk.0.attn_qkv.weight", "phi3.block_count"),
        ("tiny-gpt2.gguf", "position_embd.weight", "gpt2.attention.layer_norm_epsilon"),
        ("tiny-olmo2.gguf", "blk.0.post_ffw_norm.weight", "olmo2.attention.head_count"),
        ("tiny-smollm3.gguf", "blk.0.ffn_gate.weight", "smollm3.feed_forward_length"),
        ("tiny-olmoe.gguf", "blk.0.ffn_down_exps.weight", "olmoe.expert_count"),
        ("tiny-mixtral-split.gguf", "blk.0.ffn_up.1.weight", "llama.expert_count"),
    ]

    @Test(arguments: seeds)
    func brokenCopiesAreRefusedByName(seed: String, tensor: String, key: String) throws {
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("Fuzz/Corpus/fuzz-gguf/\(seed)"))
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent(seed)
            try data.write(to: url)
            #expect(try LanguageModel.load(gguf: url).model.layerCount == 1)
            // A block count of 2113929217 (found by fuzz-gguf in a mutated tiny-gemma2.gguf) ran for minutes building
            // per-layer settings before any tensor was looked up.
            let blockCount = "\(key.prefix { $0 != "." }).block_count"
            let variants = [(renaming(tensor, in: data), tensor), (renaming(key, in: data), key),
                            (data.prefix(data.count / 2), "past the end of the"),
                            (settingUInt32(blockCount, to: 2_113_929_217, in: data), "is 2113929217, more than 65536 layers")]
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

    /// `data` with the UInt32 value of metadata `key` (stored after the key and its type tag, 4) set to `value`.
    private func settingUInt32(_ key: String, to value: UInt32, in data: Data) -> Data {
        guard let range = data.range(of: Data(key.utf8)),
              data[range.upperBound..<range.upperBound + 4].elementsEqual([4, 0, 0, 0]) else {
            Issue.record("\(key) is not a UInt32 in the seed")
            return data
        }
        var copy = data
        copy.replaceSubrange(range.upperBound + 4..<range.upperBound + 8, with: withUnsafeBytes(of: value.littleEndian) { Data($0) })
        return copy
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
