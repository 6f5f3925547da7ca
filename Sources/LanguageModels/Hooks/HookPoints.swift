/// One hook point of a model: which activation (its ``Kind``), in which block, with the canonical
/// (TransformerLens) name and the axis layout of its activation.
///
/// This is the one registry of hook points: every other module derives names, layouts, cache filters and
/// patch targets from it. A model publishes the points it calls (``TransformerModel/hookPoints``);
/// ``HookNameResolver`` turns user-written names into canonical ones.
///
/// ```swift
/// let z = HookPoint.z(3)                    // blocks.3.attn.hook_z, [batch, pos, head, d_head]
/// z.name                                    // "blocks.3.attn.hook_z"
/// z.layout.headAxis                         // 2
/// HookPoint(name: "blocks.3.hook_resid_pre") == .residPre(3)
/// ```
public struct HookPoint: Hashable, Sendable, CustomStringConvertible {
    /// What a hook point holds; the raw value is its name within its block (or the whole name outside blocks).
    public enum Kind: String, CaseIterable, Sendable {
        case embed = "hook_embed", posEmbed = "hook_pos_embed"
        case residPre = "hook_resid_pre"
        case qInput = "hook_q_input", kInput = "hook_k_input", vInput = "hook_v_input"
        case ln1Scale = "ln1.hook_scale", ln1Normalized = "ln1.hook_normalized"
        case q = "attn.hook_q", k = "attn.hook_k", v = "attn.hook_v", rotQ = "attn.hook_rot_q", rotK = "attn.hook_rot_k"
        case attnScores = "attn.hook_attn_scores", pattern = "attn.hook_pattern"
        case z = "attn.hook_z", result = "attn.hook_result"
        case ln1PostScale = "ln1_post.hook_scale", ln1PostNormalized = "ln1_post.hook_normalized"
        case attnOut = "hook_attn_out", residMid = "hook_resid_mid", mlpIn = "hook_mlp_in"
        case ln2Scale = "ln2.hook_scale", ln2Normalized = "ln2.hook_normalized"
        case mlpPre = "mlp.hook_pre", mlpPreLinear = "mlp.hook_pre_linear", mlpPost = "mlp.hook_post"
        /// A mixture-of-experts MLP's router: its logits `[batch, pos, experts]`; their softmax (TransformerLens'
        /// `hook_expert_weights`, every expert's probability); the chosen experts `[batch, pos, k]` (indices held as
        /// floats, best first); and the weights that scale the chosen experts' outputs `[batch, pos, k]` (renormalized
        /// to sum to 1 when the model normalizes its top-k probabilities).
        case routerLogits = "mlp.hook_router_logits", expertWeights = "mlp.hook_expert_weights"
        case expertIndices = "mlp.hook_expert_indices", topKWeights = "mlp.hook_topk_weights"
        case ln2PostScale = "ln2_post.hook_scale", ln2PostNormalized = "ln2_post.hook_normalized"
        case mlpOut = "hook_mlp_out", residPost = "hook_resid_post"
        case finalScale = "ln_final.hook_scale", finalNormalized = "ln_final.hook_normalized"

        /// Whether the point belongs to a block (`blocks.{l}.…`).
        public var isInBlock: Bool { ![.embed, .posEmbed, .finalScale, .finalNormalized].contains(self) }

        /// Whether TransformerLens' `run_with_cache` records it by default: everything but the optional
        /// per-head results and split inputs, which cost a copy of the residual stream per head.
        public var isCachedByDefault: Bool { ![.result, .qInput, .kInput, .vInput, .mlpIn].contains(self) }

        /// The axis layout of the activation.
        public var layout: ActivationLayout {
            switch self {
            case .attnScores, .pattern: return ActivationLayout(positionAxis: 2, headAxis: 1, keyAxis: 3)
            case .q, .k, .v, .rotQ, .rotK, .z, .result, .qInput, .kInput, .vInput:
                return ActivationLayout(positionAxis: 1, headAxis: 2)
            default: return ActivationLayout(positionAxis: 1, headAxis: nil)
            }
        }
    }

    public let kind: Kind
    /// The block, or nil for the points outside the blocks.
    public let layer: Int?

    public init(_ kind: Kind, layer: Int? = nil) {
        precondition(kind.isInBlock == (layer != nil), "\(kind.rawValue) \(kind.isInBlock ? "needs" : "takes no") layer")
        self.kind = kind
        self.layer = layer
    }

    /// The point of a canonical name (`blocks.3.attn.hook_z`, `hook_embed`); nil for any other string.
    /// User-written names (aliases, negative layers) go through ``HookNameResolver`` first.
    public init?(name: String) {
        if name.hasPrefix("blocks.") {
            let rest = name.dropFirst("blocks.".count)
            guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer >= 0,
                  let kind = Kind(rawValue: String(rest[rest.index(after: dot)...])), kind.isInBlock else { return nil }
            self.init(kind, layer: layer)
        } else {
            guard let kind = Kind(rawValue: name), !kind.isInBlock else { return nil }
            self.init(kind)
        }
    }

    /// The canonical (TransformerLens) name.
    public var name: String { layer.map { "blocks.\($0).\(kind.rawValue)" } ?? kind.rawValue }
    public var description: String { name }
    public var layout: ActivationLayout { kind.layout }
    public var isCachedByDefault: Bool { kind.isCachedByDefault }

    public static let embed = HookPoint(.embed), posEmbed = HookPoint(.posEmbed)
    public static let finalScale = HookPoint(.finalScale), finalNormalized = HookPoint(.finalNormalized)
    public static func residPre(_ l: Int) -> HookPoint { HookPoint(.residPre, layer: l) }
    public static func qInput(_ l: Int) -> HookPoint { HookPoint(.qInput, layer: l) }
    public static func kInput(_ l: Int) -> HookPoint { HookPoint(.kInput, layer: l) }
    public static func vInput(_ l: Int) -> HookPoint { HookPoint(.vInput, layer: l) }
    public static func ln1Scale(_ l: Int) -> HookPoint { HookPoint(.ln1Scale, layer: l) }
    public static func ln1Normalized(_ l: Int) -> HookPoint { HookPoint(.ln1Normalized, layer: l) }
    public static func q(_ l: Int) -> HookPoint { HookPoint(.q, layer: l) }
    public static func k(_ l: Int) -> HookPoint { HookPoint(.k, layer: l) }
    public static func v(_ l: Int) -> HookPoint { HookPoint(.v, layer: l) }
    public static func rotQ(_ l: Int) -> HookPoint { HookPoint(.rotQ, layer: l) }
    public static func rotK(_ l: Int) -> HookPoint { HookPoint(.rotK, layer: l) }
    public static func attnScores(_ l: Int) -> HookPoint { HookPoint(.attnScores, layer: l) }
    public static func pattern(_ l: Int) -> HookPoint { HookPoint(.pattern, layer: l) }
    public static func z(_ l: Int) -> HookPoint { HookPoint(.z, layer: l) }
    public static func result(_ l: Int) -> HookPoint { HookPoint(.result, layer: l) }
    public static func attnOut(_ l: Int) -> HookPoint { HookPoint(.attnOut, layer: l) }
    public static func residMid(_ l: Int) -> HookPoint { HookPoint(.residMid, layer: l) }
    public static func mlpIn(_ l: Int) -> HookPoint { HookPoint(.mlpIn, layer: l) }
    public static func ln2Scale(_ l: Int) -> HookPoint { HookPoint(.ln2Scale, layer: l) }
    public static func ln2Normalized(_ l: Int) -> HookPoint { HookPoint(.ln2Normalized, layer: l) }
    public static func mlpPre(_ l: Int) -> HookPoint { HookPoint(.mlpPre, layer: l) }
    public static func mlpPreLinear(_ l: Int) -> HookPoint { HookPoint(.mlpPreLinear, layer: l) }
    public static func mlpPost(_ l: Int) -> HookPoint { HookPoint(.mlpPost, layer: l) }
    public static func routerLogits(_ l: Int) -> HookPoint { HookPoint(.routerLogits, layer: l) }
    public static func expertWeights(_ l: Int) -> HookPoint { HookPoint(.expertWeights, layer: l) }
    public static func expertIndices(_ l: Int) -> HookPoint { HookPoint(.expertIndices, layer: l) }
    public static func topKWeights(_ l: Int) -> HookPoint { HookPoint(.topKWeights, layer: l) }
    public static func mlpOut(_ l: Int) -> HookPoint { HookPoint(.mlpOut, layer: l) }
    public static func residPost(_ l: Int) -> HookPoint { HookPoint(.residPost, layer: l) }
    public static func ln1PostScale(_ l: Int) -> HookPoint { HookPoint(.ln1PostScale, layer: l) }
    public static func ln1PostNormalized(_ l: Int) -> HookPoint { HookPoint(.ln1PostNormalized, layer: l) }
    public static func ln2PostScale(_ l: Int) -> HookPoint { HookPoint(.ln2PostScale, layer: l) }
    public static func ln2PostNormalized(_ l: Int) -> HookPoint { HookPoint(.ln2PostNormalized, layer: l) }
}

/// Where the batch, position, head and key axes of a hook point's activation are (axis 0 is the batch).
public struct ActivationLayout: Sendable, Equatable {
    /// The (query) position axis.
    public let positionAxis: Int
    /// The head axis of per-head activations, nil otherwise.
    public let headAxis: Int?
    /// The key-position axis of attention scores and patterns, nil otherwise.
    public let keyAxis: Int?

    public init(positionAxis: Int, headAxis: Int?, keyAxis: Int? = nil) {
        self.positionAxis = positionAxis
        self.headAxis = headAxis
        self.keyAxis = keyAxis
    }
}

/// The hook point names of one transformer block, derived from ``HookPoint`` once per block, so that a
/// forward pass never formats strings.
public struct BlockHookNames: Sendable {
    public let residPre, residMid, residPost: String
    public let ln1Scale, ln1Normalized, ln2Scale, ln2Normalized: String
    /// The post-attention and post-MLP norms of Gemma-2/3 and OLMo-2 (TransformerLens' `ln1_post`, `ln2_post`).
    public let ln1PostScale, ln1PostNormalized, ln2PostScale, ln2PostNormalized: String
    public let q, k, v, rotQ, rotK, attnScores, pattern, z, result: String
    public let qInput, kInput, vInput: String
    public let attnOut, mlpIn, mlpPre, mlpPreLinear, mlpPost, mlpOut: String
    /// A mixture-of-experts MLP's router points.
    public let routerLogits, expertWeights, expertIndices, topKWeights: String

    public init(layer l: Int) {
        residPre = HookPoint.residPre(l).name; residMid = HookPoint.residMid(l).name; residPost = HookPoint.residPost(l).name
        ln1Scale = HookPoint.ln1Scale(l).name; ln1Normalized = HookPoint.ln1Normalized(l).name
        ln2Scale = HookPoint.ln2Scale(l).name; ln2Normalized = HookPoint.ln2Normalized(l).name
        ln1PostScale = HookPoint.ln1PostScale(l).name; ln1PostNormalized = HookPoint.ln1PostNormalized(l).name
        ln2PostScale = HookPoint.ln2PostScale(l).name; ln2PostNormalized = HookPoint.ln2PostNormalized(l).name
        q = HookPoint.q(l).name; k = HookPoint.k(l).name; v = HookPoint.v(l).name
        rotQ = HookPoint.rotQ(l).name; rotK = HookPoint.rotK(l).name
        attnScores = HookPoint.attnScores(l).name; pattern = HookPoint.pattern(l).name
        z = HookPoint.z(l).name; result = HookPoint.result(l).name
        qInput = HookPoint.qInput(l).name; kInput = HookPoint.kInput(l).name; vInput = HookPoint.vInput(l).name
        attnOut = HookPoint.attnOut(l).name; mlpIn = HookPoint.mlpIn(l).name
        mlpPre = HookPoint.mlpPre(l).name; mlpPreLinear = HookPoint.mlpPreLinear(l).name; mlpPost = HookPoint.mlpPost(l).name
        mlpOut = HookPoint.mlpOut(l).name
        routerLogits = HookPoint.routerLogits(l).name; expertWeights = HookPoint.expertWeights(l).name
        expertIndices = HookPoint.expertIndices(l).name; topKWeights = HookPoint.topKWeights(l).name
    }
}

/// The names of the hook points outside the blocks.
public enum GlobalHookNames {
    public static let embed = HookPoint.embed.name
    public static let posEmbed = HookPoint.posEmbed.name
    public static let finalScale = HookPoint.finalScale.name
    public static let finalNormalized = HookPoint.finalNormalized.name
}
