import Foundation
import Tensors

extension ModelConfiguration {
    /// YaRN rotary scaling (`<arch>.rope.scaling.type` `yarn`) as the Hugging Face model the file was converted from
    /// runs it (transformers' `_compute_yarn_parameters`), read from the keys convert_hf_to_gguf writes for a
    /// `rope_scaling` / `rope_parameters` of `rope_type` `yarn` (the `full_attention` entry of a model keyed by layer
    /// type, as OLMo-3's):
    ///
    /// - `rope.scaling.factor` (required, positive; the older `rope.scale_linear` too, as llama.cpp reads it) and
    ///   `rope.scaling.original_context_length` (positive; default `context_length`, as llama.cpp and transformers
    ///   default it).
    /// - `rope.scaling.yarn_beta_fast` and `yarn_beta_slow` (default 32 and 1) and `rope.scaling.yarn_attn_factor`
    ///   (the factor on `cos` and `sin`; default `0.1 ln(factor) + 1`, 1 when the factor is at most 1), which the
    ///   converter writes only when the config has `beta_fast`, `beta_slow`, `attention_factor`. Here llama.cpp
    ///   differs: it reads these three keys for a few architectures only (none of this library's), running 32, 1 and
    ///   `0.1 ln(factor) + 1` whatever the file says, where transformers applies the config's values. This library
    ///   follows the file, so that it equals the Hugging Face model; with the keys absent (Qwen3, OLMo-3 as released,
    ///   whose `attention_factor` 1.2079 is the default) the two agree.
    /// - The correction range is rounded outwards (`truncate`, the only rounding llama.cpp has; the converter does not
    ///   record a `truncate: false`).
    ///
    /// Keys whose meaning differs between llama.cpp's architectures and that no transformers YaRN config produces for
    /// these architectures are refused unless neutral, naming the key: `rope.scaling.yarn_ext_factor` other than 1
    /// (llama.cpp reads it only for Grok; transformers has no extrapolation factor), `rope.scaling.yarn_log_multiplier`
    /// other than 0 (DeepSeek's `mscale_all_dim`, read by llama.cpp for DeepSeek-style architectures only) and
    /// `rope.scaling.attn_factor` other than 1 (llama.cpp multiplies it into every layer's rotation, sliding-window
    /// layers included, which transformers has no setting for).
    ///
    /// `mistral3` (Ministral 3) differs: its graph in llama.cpp cancels YaRN's attention factor whatever the file
    /// says, which equals transformers when the config's `mscale_all_dim` equals `mscale` (1, as Ministral 3 ships
    /// and the converter writes it as `rope.scaling.yarn_log_multiplier`); the factor is 1, and a
    /// `yarn_log_multiplier` or `yarn_attn_factor` other than 1 is refused naming the key.
    static func ggufYaRN(_ file: GGUFFile, architecture a: String, context: Int) throws -> RotaryEmbedding.Scaling {
        let key = { (name: String) in "\(a).rope.scaling.\(name)" }
        let factorKey = file.metadata[key("factor")] == nil && file.metadata["\(a).rope.scale_linear"] != nil
            ? "\(a).rope.scale_linear" : key("factor")
        guard let factor = try file.number(factorKey) else { throw file.metadataError(factorKey, "is missing; yarn rope scaling needs its factor") }
        guard factor > 0 && factor.isFinite else {
            throw file.metadataError(factorKey, "must be positive for yarn rope scaling, found \(factor)")
        }
        let original = try file.integer(key("original_context_length")) ?? context
        guard original > 0 else { throw file.metadataError(key("original_context_length"), "must be positive, found \(original)") }
        func positive(_ name: String, default value: Double) throws -> Double {
            let number = try file.number(key(name)) ?? value
            guard number > 0 && number.isFinite else { throw file.metadataError(key(name), "must be positive, found \(number)") }
            return number
        }
        let cancelsAttentionFactor = a == "mistral3"
        let cancelled = "llama.cpp's mistral3 graph cancels YaRN's attention factor, which transformers does only when mscale_all_dim equals mscale (1)"
        for (name, neutral, meaning) in [
            ("yarn_ext_factor", 1.0, "llama.cpp applies it to Grok only and transformers has no extrapolation factor"),
            cancelsAttentionFactor ? ("yarn_log_multiplier", 1.0, cancelled)
                : ("yarn_log_multiplier", 0.0, "DeepSeek's mscale_all_dim, which llama.cpp reads for DeepSeek-style architectures only"),
            ("attn_factor", 1.0, "llama.cpp multiplies it into the sliding-window layers' rotation too; transformers has no such setting"),
        ] + (cancelsAttentionFactor ? [("yarn_attn_factor", 1.0, cancelled)] : []) {
            if let value = try file.number(key(name)), value != neutral {
                throw file.metadataError(key(name), "\(value) is not supported with yarn rope scaling for \(a) (only \(neutral)): \(meaning)")
            }
        }
        return .yarn(factor: factor, originalMaxPositionEmbeddings: original,
                     betaFast: try positive("yarn_beta_fast", default: 32), betaSlow: try positive("yarn_beta_slow", default: 1),
                     truncate: true,
                     attentionFactor: cancelsAttentionFactor ? 1
                        : try positive("yarn_attn_factor", default: RotaryEmbedding.Scaling.yarnAttentionFactor(factor: factor)))
    }

    /// Ministral 3's position scaling of its rotated queries (`1 + β ln(1 + ⌊p / original⌋)`): β from
    /// `<arch>.attention.temperature_scale` (absent or 0: none) over blocks of `rope.scaling.original_context_length`
    /// positions (default `context_length`), as llama.cpp reads them for `mistral3`; the converter writes β from the
    /// config's `llama_4_scaling_beta` and no `attention.temperature_length`.
    static func ggufQueryScaling(_ file: GGUFFile, architecture a: String, context: Int) throws -> QueryPositionScaling? {
        let betaKey = "\(a).attention.temperature_scale", originalKey = "\(a).rope.scaling.original_context_length"
        guard let beta = try file.number(betaKey), beta != 0 else { return nil }
        guard beta.isFinite else { throw file.metadataError(betaKey, "must be finite, found \(beta)") }
        let original = try file.integer(originalKey) ?? context
        guard original > 0 else { throw file.metadataError(originalKey, "must be positive, found \(original)") }
        return QueryPositionScaling(beta: beta, originalMaxPositionEmbeddings: original)
    }
}
