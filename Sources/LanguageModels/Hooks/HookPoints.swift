/// The hook points of one transformer block, named as in TransformerLens.
///
/// Names are built once per model, so that a forward pass never formats strings.
public struct BlockHookNames: Sendable {
    public let residPre, residMid, residPost: String
    public let ln1Scale, ln1Normalized, ln2Scale, ln2Normalized: String
    /// The post-attention and post-MLP norms of Gemma-2/3 and OLMo-2 (TransformerLens' `ln1_post`, `ln2_post`).
    public let ln1PostScale, ln1PostNormalized, ln2PostScale, ln2PostNormalized: String
    public let q, k, v, rotQ, rotK, attnScores, pattern, z, result: String
    public let qInput, kInput, vInput: String
    public let attnOut, mlpIn, mlpPre, mlpPreLinear, mlpPost, mlpOut: String

    public init(layer: Int) {
        let b = "blocks.\(layer)."
        residPre = b + "hook_resid_pre"; residMid = b + "hook_resid_mid"; residPost = b + "hook_resid_post"
        ln1Scale = b + "ln1.hook_scale"; ln1Normalized = b + "ln1.hook_normalized"
        ln2Scale = b + "ln2.hook_scale"; ln2Normalized = b + "ln2.hook_normalized"
        ln1PostScale = b + "ln1_post.hook_scale"; ln1PostNormalized = b + "ln1_post.hook_normalized"
        ln2PostScale = b + "ln2_post.hook_scale"; ln2PostNormalized = b + "ln2_post.hook_normalized"
        q = b + "attn.hook_q"; k = b + "attn.hook_k"; v = b + "attn.hook_v"
        rotQ = b + "attn.hook_rot_q"; rotK = b + "attn.hook_rot_k"
        attnScores = b + "attn.hook_attn_scores"; pattern = b + "attn.hook_pattern"
        z = b + "attn.hook_z"; result = b + "attn.hook_result"
        qInput = b + "hook_q_input"; kInput = b + "hook_k_input"; vInput = b + "hook_v_input"
        attnOut = b + "hook_attn_out"; mlpIn = b + "hook_mlp_in"
        mlpPre = b + "mlp.hook_pre"; mlpPreLinear = b + "mlp.hook_pre_linear"; mlpPost = b + "mlp.hook_post"
        mlpOut = b + "hook_mlp_out"
    }
}

/// Hook point names outside the blocks.
public enum GlobalHookNames {
    public static let embed = "hook_embed"
    public static let posEmbed = "hook_pos_embed"
    public static let finalScale = "ln_final.hook_scale"
    public static let finalNormalized = "ln_final.hook_normalized"
}
