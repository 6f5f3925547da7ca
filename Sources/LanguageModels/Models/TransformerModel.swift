/// A decoder-only transformer with TransformerLens-named hook points: GPT-2, the Llama family
/// (Llama, Mistral, Qwen2, Qwen3), GPT-NeoX, Gemma 1/2/3, Phi-3, OLMo-2, Phi and OLMo share this one forward pass and differ
/// only in their parts and block options.
///
/// ```swift
/// let lm = try LanguageModel.load(from: URL(fileURLWithPath: "gpt2"))
/// let ids = try lm.tokens("The capital of France is")
/// let logits = lm.model.forward(TokenBatch([ids]))      // [1, pos, vocab]
/// ```
///
/// The pieces of the pass (``embed(_:context:hooks:)``, ``runBlocks(_:residual:context:hooks:cache:)``,
/// ``unembed(_:hooks:)``) are public so that analyses can start from a cached residual stream and
/// recompute only the layers after an intervention.
public final class TransformerModel {
    /// Token embeddings `[vocab, dModel]` (`W_E`), dense or quantized.
    public var tokenEmbedding: WeightMatrix
    /// Learned position embeddings `[contextLength, dModel]` (`W_pos`, GPT-2 only).
    public var positionEmbedding: Tensor?
    public var blocks: [TransformerBlock]
    public var finalNorm: Normalization
    /// The unembedding `[vocab, dModel]` (`W_Uᵀ`); shares storage with `tokenEmbedding` when tied.
    public var unembedding: WeightMatrix
    /// The unembedding's bias `[vocab]` (`b_U`; Phi's `lm_head.bias`), added to every position's logits; nil for none.
    public var unembeddingBias: Tensor?
    /// The longest sequence the model accepts.
    public let contextLength: Int
    /// Whether the unembedding is the token embedding (one parameter used twice): ``parameters`` then
    /// lists it once and replacing it replaces both.
    public let tiedEmbeddings: Bool
    /// The factor token embeddings are multiplied by before `hook_embed` (Gemma: `sqrt(dModel)` rounded to
    /// Float32, as transformers computes it in fp32); nil for none. The unembedding is not scaled.
    public let embeddingScale: Float?
    /// Final logit soft-capping (Gemma-2's `final_logit_softcapping`): logits become `cap · tanh(logits / cap)`,
    /// so they are not linear in the final residual stream. Nil for none.
    public let finalLogitSoftcap: Float?

    public init(tokenEmbedding: WeightMatrix, positionEmbedding: Tensor?, blocks: [TransformerBlock],
                finalNorm: Normalization, unembedding: WeightMatrix, contextLength: Int, tiedEmbeddings: Bool = false,
                embeddingScale: Float? = nil, finalLogitSoftcap: Float? = nil, unembeddingBias: Tensor? = nil) {
        precondition(!tiedEmbeddings || unembedding.sharesStorage(with: tokenEmbedding),
                     "tied embeddings must be one matrix: pass the token embedding as the unembedding")
        self.tiedEmbeddings = tiedEmbeddings
        self.embeddingScale = embeddingScale
        self.finalLogitSoftcap = finalLogitSoftcap
        self.tokenEmbedding = tokenEmbedding
        self.positionEmbedding = positionEmbedding
        self.blocks = blocks
        self.finalNorm = finalNorm
        self.unembedding = unembedding
        self.unembeddingBias = unembeddingBias
        self.contextLength = contextLength
    }

    /// A model with dense embedding and unembedding tables.
    public convenience init(tokenEmbedding: Tensor, positionEmbedding: Tensor?, blocks: [TransformerBlock],
                            finalNorm: Normalization, unembedding: Tensor, contextLength: Int, tiedEmbeddings: Bool = false,
                            embeddingScale: Float? = nil, finalLogitSoftcap: Float? = nil) {
        self.init(tokenEmbedding: .dense(tokenEmbedding), positionEmbedding: positionEmbedding, blocks: blocks,
                  finalNorm: finalNorm, unembedding: .dense(unembedding), contextLength: contextLength,
                  tiedEmbeddings: tiedEmbeddings, embeddingScale: embeddingScale, finalLogitSoftcap: finalLogitSoftcap)
    }

    public var layerCount: Int { blocks.count }
    public var dModel: Int { tokenEmbedding.shape[1] }
    public var vocabularySize: Int { unembedding.shape[0] }
    public var headCount: Int { blocks.first?.attention.heads ?? 0 }
    /// False for attention-only models.
    public var hasMLPs: Bool { blocks.first?.hasMLP == true }

    /// The unembedding vector of a token, `[dModel]`: the residual direction its logit reads.
    public func unembeddingDirection(_ token: Int) -> Tensor {
        unembedding.rows([token]).reshaped([-1])
    }

    /// Which positions get logits.
    public enum LogitPositions: Sendable {
        /// Every position: `[batch, pos, vocab]`.
        case all
        /// The last real token of each sequence: `[batch, 1, vocab]`.
        case last
        /// No unembedding at all (the result is the final residual stream after `ln_final`'s hooks run).
        case none
    }

    /// Runs the model and returns logits.
    ///
    /// - Parameters:
    ///   - batch: token ids with their padding mask.
    ///   - hooks: hooks to call and activations to cache.
    ///   - cache: a key-value cache for incremental decoding; the batch holds only the new tokens.
    ///   - positions: which positions to unembed.
    public func forward(_ batch: TokenBatch, hooks: ForwardHooks? = nil, cache: KeyValueCache? = nil,
                        logitPositions positions: LogitPositions = .all) -> Tensor {
        precondition((cache?.length ?? 0) + batch.length <= contextLength,
                     "\((cache?.length ?? 0) + batch.length) positions exceed the model's context of \(contextLength)")
        let context = cache?.context(for: batch) ?? AttentionContext(batch: batch)
        hooks?.positionOffset = context.pastLength
        var residual = embed(batch, context: context, hooks: hooks)
        residual = runBlocks(0..<layerCount, residual: residual, context: context, hooks: hooks, cache: cache)
        cache?.commit(context, batch: batch)
        switch positions {
        case .all: return unembed(residual, hooks: hooks)
        case .last: return unembed(residual.gather(positions: batch.lastPositions), hooks: hooks)
        case .none: return residual
        }
    }

    /// The residual stream before block 0: token embeddings plus position embeddings (GPT-2).
    public func embed(_ batch: TokenBatch, context: AttentionContext, hooks: ForwardHooks?) -> Tensor {
        let ids = batch.tokens.flatMap { $0 }
        let shape = [batch.batchSize, batch.length, dModel]
        let rows = tokenEmbedding.rows(ids).reshaped(shape)
        let tokens = hooks.apply(GlobalHookNames.embed, embeddingScale.map { rows * $0 } ?? rows)
        guard let positionEmbedding else { return tokens }
        let positions = hooks.apply(GlobalHookNames.posEmbed,
                                    positionEmbedding.indexSelect(axis: 0, context.positions.flatMap { $0 }).reshaped(shape))
        return tokens + positions
    }

    /// Runs blocks `layers` on a residual stream.
    public func runBlocks(_ layers: Range<Int>, residual: Tensor, context: AttentionContext, hooks: ForwardHooks?,
                          cache: KeyValueCache? = nil) -> Tensor {
        var x = residual
        var masks: [Int?: Tensor] = [:]
        let progress = ForwardProgress.reporter
        progress?(0, layers.count)
        for layer in layers {
            let block = blocks[layer]
            let window = block.attention.slidingWindow
            let mask = masks[window] ?? context.additiveMask(slidingWindow: window)
            masks[window] = mask
            var layerCache = cache?.layers[layer]
            x = block(x, context: context, mask: mask, cache: &layerCache, hooks: hooks)
            if let cache { cache.layers[layer] = layerCache }
            progress?(layer - layers.lowerBound + 1, layers.count)
        }
        return x
    }

    /// `ln_final` followed by the unembedding (and the final soft-capping, if any): logits `[..., vocab]`.
    public func unembed(_ residual: Tensor, hooks: ForwardHooks?) -> Tensor {
        let logits = preCapLogits(residual, hooks: hooks)
        return finalLogitSoftcap.map { logits.softCapped($0) } ?? logits
    }

    /// `ln_final` followed by the unembedding and its bias, without the final soft-capping: the logits `x` of
    /// which a soft-capped model outputs `cap · tanh(x / cap)` (the logits themselves without a cap), `[..., vocab]`.
    public func preCapLogits(_ residual: Tensor, hooks: ForwardHooks? = nil) -> Tensor {
        let normalized = finalNorm(residual, hooks: hooks, scaleName: GlobalHookNames.finalScale,
                                   normalizedName: GlobalHookNames.finalNormalized)
        var rows = unembedding.matmulTransposed(normalized.reshaped([-1, dModel]))
        if let unembeddingBias { rows = rows + unembeddingBias }
        return rows.reshaped(Array(residual.shape.dropLast()) + [vocabularySize])
    }

    /// The logits of the vocabulary entries `columns` only, `[..., columns.count]`, from the final residual stream
    /// `[..., dModel]` (no hooks): a few dot products per row where a metric reads few logits (a logit
    /// difference), instead of a product with the whole vocabulary. Equal to those columns of ``unembed(_:hooks:)``.
    public func unembed(_ residual: Tensor, columns: [Int]) -> Tensor {
        let normalized = finalNorm(residual, hooks: nil, scaleName: GlobalHookNames.finalScale,
                                   normalizedName: GlobalHookNames.finalNormalized)
        var picked = normalized.reshaped([-1, dModel]).matmul(unembedding.rows(columns), transposeOther: true)
        if let unembeddingBias { picked = picked + unembeddingBias.indexSelect(axis: 0, columns) }
        if let finalLogitSoftcap { picked = picked.softCapped(finalLogitSoftcap) }
        return picked.reshaped(Array(residual.shape.dropLast()) + [columns.count])
    }
}

extension Tensor {
    /// Picks one position per sequence from `[batch, pos, d]`, giving `[batch, 1, d]`.
    public func gather(positions: [Int]) -> Tensor {
        precondition(rank == 3 && positions.count == shape[0], "gather(positions:) needs [batch, pos, d] and one position per row")
        let rows = positions.enumerated().map { $0.offset * shape[1] + $0.element }
        return reshaped([shape[0] * shape[1], shape[2]]).indexSelect(axis: 0, rows).reshaped([shape[0], 1, shape[2]])
    }
}

/// The keys and values of every layer for incremental decoding, with the mask and positions seen so far.
public final class KeyValueCache {
    /// One cache per layer.
    public var layers: [LayerKeyValueCache?]
    /// `[batch][past position]`, true for real tokens.
    public private(set) var mask: [[Bool]]?
    /// The next position id of each sequence.
    public private(set) var nextPositions: [Int]?

    public init(layerCount: Int) {
        layers = Array(repeating: LayerKeyValueCache(), count: layerCount)
    }

    /// The number of positions already cached.
    public var length: Int { mask?.first?.count ?? 0 }

    func context(for batch: TokenBatch) -> AttentionContext {
        AttentionContext(batch: batch, pastMask: mask, pastPositions: nextPositions)
    }

    /// A copy holding every cached sequence `times` times over, copies following each other along the batch
    /// (as `TokenBatch.repeated` and `Tensor.repeatedAlongBatch` lay out variants of one batch): many variants
    /// of the cached prompts then continue from one cached prefix.
    public func repeatedAlongBatch(_ times: Int) -> KeyValueCache {
        let copy = KeyValueCache(layerCount: layers.count)
        copy.layers = layers.map { layer in
            guard let keys = layer?.keys, let values = layer?.values else { return layer }
            var repeated = LayerKeyValueCache()
            _ = repeated.append(keys: keys.repeatedAlongBatch(times), values: values.repeatedAlongBatch(times))
            return repeated
        }
        copy.mask = mask.map { Array(Array(repeating: $0, count: times).joined()) }
        copy.nextPositions = nextPositions.map { Array(Array(repeating: $0, count: times).joined()) }
        return copy
    }

    /// Records the positions and keys of a forward pass run with `context` (from ``context(for:)``).
    func commit(_ context: AttentionContext, batch: TokenBatch) {
        nextPositions = zip(context.positions, batch.mask).map { row, m in (row.last ?? 0) + (m.last == true ? 1 : 0) }
        mask = context.keyMask
    }
}

extension TransformerModel {
    /// Every hook point this model calls, in forward order (optional ones included): the registry that
    /// names, cache filters and patch targets are derived from.
    public var hookPoints: [HookPoint] {
        var points = [HookPoint.embed]
        if positionEmbedding != nil { points.append(.posEmbed) }
        for block in blocks { points += block.hookPoints }
        return points + [.finalScale, .finalNormalized]
    }

    /// The canonical names of ``hookPoints`` and, after each mixture-of-experts block's router points, its experts'
    /// `blocks.L.mlp.experts.E.hook_gate` / `hook_pre` / `hook_post` (which have no ``HookPoint``: they hold only the
    /// tokens routed to the expert and are called only when some are) and its shared expert's points
    /// (``MixtureOfExperts/sharedExpertHookNames``).
    public var hookNames: [String] {
        hookPoints.flatMap { point -> [String] in
            guard point.kind == .topKWeights, let layer = point.layer, let mixture = blocks[layer].mixture else { return [point.name] }
            return [point.name] + mixture.expertHookPointNames
        }
    }

    /// Whether this model calls `point`.
    public func has(_ point: HookPoint) -> Bool {
        guard let layer = point.layer else { return point.kind != .posEmbed || positionEmbedding != nil }
        return blocks.indices.contains(layer) && blocks[layer].hookPoints.contains(point)
    }

    /// Resolves user-written hook names for this model.
    public var hookNameResolver: HookNameResolver {
        HookNameResolver(names: hookNames, layerCount: layerCount)
    }
}

extension TransformerModel {
    /// The number of parameters (quantized matrices count their unpacked size).
    public var parameterCount: Int {
        func size(_ linear: Linear) -> Int { linear.matrix.shape.reduce(1, *) + (linear.bias?.count ?? 0) }
        func size(_ norm: Normalization?) -> Int { (norm?.weight.count ?? 0) + (norm?.bias?.count ?? 0) }
        var total = tokenEmbedding.shape.reduce(1, *) + (positionEmbedding?.count ?? 0) + size(finalNorm)
        if !tiedEmbeddings { total += unembedding.shape.reduce(1, *) }
        total += unembeddingBias?.count ?? 0
        for block in blocks {
            let a = block.attention
            total += size(block.ln1) + size(block.ln2) + size(a.query) + size(a.key) + size(a.value) + size(a.output)
                + size(a.queryNorm) + size(a.keyNorm) + size(block.postAttentionNorm) + size(block.postFeedForwardNorm)
            for mlp in (block.mlp.map { [$0] } ?? []) + (block.mixture?.experts ?? []) + (block.mixture?.shared.map { [$0.expert] } ?? []) {
                total += size(mlp.input) + (mlp.gate.map(size) ?? 0) + size(mlp.output)
            }
            total += block.mixture.map { size($0.router) + ($0.shared.map { size($0.gate) } ?? 0) } ?? 0
        }
        return total
    }
}
