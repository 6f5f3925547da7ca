import Foundation

/// How much each component's write contributes to a logit, through the final norm applied linearly.
///
/// The final residual is a sum of writes (embeddings, each head's `z_h W_O[h]`, each attention output
/// bias, each MLP output). With the norm's divisor taken from the real forward pass, the norm is linear,
/// so the logit splits exactly: `logit = Σ contributions + biasTerm`. ``maxError`` reports how far that
/// sum is from the real logit (float rounding only).
///
/// With post-attention norms (Gemma-2/3, OLMo-2) each head's write passes through its layer's post-attention
/// norm with that norm's divisor frozen at the run's value, so the heads' terms still add up to the layer's
/// residual write (``ActivationCache/decomposedResidual(upTo:)``). With final logit soft-capping (Gemma-2) the
/// logit is `cap · tanh(x / cap)` of a logit `x` that is linear in the residual: the attribution is of that
/// pre-cap logit `x`, and ``logits`` holds it (``TransformerModel/preCapLogits(_:hooks:)`` of the final residual stream,
/// not `cap · atanh(logit / cap)`, which is infinite once the Float logit reaches ±cap), see ``logitSoftcap``.
public struct DirectLogitAttribution {
    /// One label per component, in the order of ``contributions``: `embed`, `pos_embed`, `L{l}H{h}`,
    /// `{l}_attn_bias`, `{l}_mlp_out`.
    public let labels: [String]
    /// `[components, batch]`.
    public let contributions: Tensor
    /// The final norm's bias projected on the direction plus the unembedding's bias at the target (Phi's
    /// `lm_head.bias`), per example (zero for RMSNorm without an unembedding bias).
    public let biasTerm: [Float]
    /// The real logit (or logit difference) from the forward pass, per example: before the final soft-capping
    /// when the model has one (``logitSoftcap``).
    public let logits: [Float]
    /// The model's final logit soft-cap, if any: then ``logits`` and the contributions are of the pre-cap logits.
    public let logitSoftcap: Float?
    /// The attributed token (the answer for a difference), per example.
    public let targets: [Int]
    /// The attributed position, per example.
    public let positions: [Int]
    public let layerCount: Int
    public let headCount: Int

    /// Σ contributions + bias term, per example.
    public var totals: [Float] {
        let sums = contributions.sum(axis: 0).scalars
        return zip(sums, biasTerm).map { $0 + $1 }
    }

    /// The largest |total − real logit| over the batch.
    public var maxError: Float { zip(totals, logits).map { Swift.abs($0 - $1) }.max() ?? 0 }

    /// Mean over the batch of one labelled component's contribution.
    public func contribution(_ label: String) -> Float? {
        labels.firstIndex(of: label).map { contributions.select(axis: 0, $0).mean().item }
    }

    /// `[layers, heads]`, mean over the batch.
    public var headContributions: Tensor {
        Tensor(shape: [layerCount, headCount], scalars: (0..<layerCount).flatMap { l in
            (0..<headCount).map { h in contribution("L\(l)H\(h)") ?? 0 }
        })
    }

    /// Per layer: all heads plus the attention output bias, mean over the batch.
    public var attentionContributions: [Float] {
        (0..<layerCount).map { l in
            (0..<headCount).reduce(contribution("\(l)_attn_bias") ?? 0) { $0 + (contribution("L\(l)H\($1)") ?? 0) }
        }
    }

    /// Per layer MLP contributions, mean over the batch.
    public var mlpContributions: [Float] { (0..<layerCount).map { contribution("\($0)_mlp_out") ?? 0 } }
}

extension TransformerModel {
    /// Direct logit attribution at `position` (negative counts back from the last real token).
    ///
    /// ```swift
    /// let dla = try model.directLogitAttribution(batch, target: .difference(answer: mary, wrong: john))
    /// print(dla.headContributions, dla.maxError)
    /// ```
    public func directLogitAttribution(_ batch: TokenBatch, target: LogitTarget = .predicted,
                                       position: Int = -1) throws -> DirectLogitAttribution {
        try directLogitAttribution(batch, targets: Array(repeating: target, count: batch.batchSize), position: position)
    }

    /// Direct logit attribution with one target per batch row (e.g. each example's answer − wrong).
    public func directLogitAttribution(_ batch: TokenBatch, targets rowTargets: [LogitTarget],
                                       position: Int = -1) throws -> DirectLogitAttribution {
        precondition(rowTargets.count == batch.batchSize, "\(rowTargets.count) targets for a batch of \(batch.batchSize)")
        let kinds: Set<HookPoint.Kind> = [.embed, .posEmbed, .finalScale, .z, .mlpOut, .ln1PostScale]
        let final = HookPoint.residPost(layerCount - 1)
        let (_, cache) = try runWithCache(batch, filter: .points(hookPoints.filter { kinds.contains($0.kind) } + [final]))
        let residual = try cache[final]
        let positions = batch.resolve(position: position)
        // The decomposition is formed at each row's attributed position only: every cached activation is
        // [batch, pos, ...] and each write depends on its own position alone.
        let atPositions = ActivationCache(activations: cache.activations.mapValues { activation in
            let shape = activation.shape
            return activation.reshaped([shape[0], shape[1], -1]).gather(positions: positions)
                .reshaped([shape[0], 1] + shape.dropFirst(2))
        }, model: self)
        let stack = try atPositions.decomposedResidual()                  // [C, batch, 1, d]
        let divisor = try atPositions[.finalScale]                        // [batch, 1, 1]
        var columns: [Tensor] = [], bias: [Float] = [], real: [Float] = [], targets: [Int] = []
        for (b, p) in positions.enumerated() {
            let row = preCapLogits(residual.select(axis: 0, b).select(axis: 0, p))
            let target = rowTargets[b]
            let (direction, token) = target.direction(in: self, logits: row)
            let writes = stack.tensor.select(axis: 1, b).select(axis: 1, 0)       // [C, d]
            let normalized = finalNorm.apply(writes, divisor: Tensor(divisor[b, 0, 0]))
            columns.append(normalized.matmul(direction.reshaped([-1, 1])).reshaped([-1]))
            bias.append((finalNorm.bias.map { ($0 * direction).sum().item } ?? 0) + target.unembeddingBias(in: self, token: token))
            real.append(target.value(in: row, token: token))
            targets.append(token)
        }
        return DirectLogitAttribution(labels: stack.labels, contributions: Tensor.stack(columns, axis: 1),
                                      biasTerm: bias, logits: real, logitSoftcap: finalLogitSoftcap, targets: targets,
                                      positions: positions, layerCount: layerCount, headCount: headCount)
    }
}

extension DirectLogitAttribution {
    /// DLA of answer − wrong at each example's read position, over all examples (one batched forward pass).
    public static func mean(model: TransformerModel, pairs: PromptPairs) throws -> DirectLogitAttribution {
        try model.directLogitAttribution(pairs.clean, targets: (0..<pairs.count).map {
            .difference(answer: pairs.answers[$0], wrong: pairs.wrongs[$0])
        })
    }
}
