import Foundation

/// AtP*'s QK fix for one attention layer (Kramár et al. 2024, "AtP*: An efficient and scalable method for
/// localizing LLM behaviour to components", section 3.1.1): the effect of patching a head's query or key is
/// estimated by recomputing the attention pattern *exactly* with the patched query or key, and only the
/// pattern's effect on the metric is linearized:
///
/// - query of head `h` at position `t`: `ĉ(q_t) = Σ_s (A'_ts − A_ts) · ∂m/∂A_ts`, where `A'_t· = softmax_s(s(q'_t, k_s))`
///   (only row `t` changes);
/// - key of head `h` at position `s`: `ĉ(k_s) = Σ_t Σ_s' (A'_ts' − A_ts') · ∂m/∂A_ts'`, where for each query `t`
///   the row `A'_t· = softmax(scores of row t with key s replaced by k'_s)`;
/// - a patch of every position at once: the same with every query (or key) replaced; for queries this is the
///   sum of the per-position effects, since each row depends only on its own query.
///
/// `s(q, k)` is the model's score (`scale · q · k`, soft-capped when the model caps, plus the causal and padding
/// mask), `A` the target run's pattern, `∂m/∂A` the metric's gradient at `hook_pattern`, and `q'`, `k'` the
/// source run's queries and keys as they enter the dot product (after any q/k norm and rotary embedding).
/// With grouped-query attention a key-value head's key effect sums over the query heads that read it.
struct AttentionQKFix {
    let heads: Int
    let keyValueHeads: Int
    let headDim: Int
    let scale: Float
    let softcap: Float?

    /// Per-node effects, summed over the batch.
    struct Effects {
        /// `[heads][positions]`: the query of head h patched at one position.
        var query: [[Double]]
        /// `[keyValueHeads][positions]`: the key of key-value head g patched at one position.
        var key: [[Double]]
        /// `[keyValueHeads]`: the key of key-value head g patched at every position.
        var keyAllPositions: [Double]
    }

    /// The effects from queries `[batch, pos, heads, headDim]`, keys `[batch, pos, kvHeads, headDim]` of the
    /// target and source runs, the pattern gradient `[batch, heads, pos, pos]` and the additive mask
    /// `[batch, 1, pos, pos]`.
    func effects(targetQueries: Tensor, sourceQueries: Tensor, targetKeys: Tensor, sourceKeys: Tensor,
                 patternGradient: Tensor, mask: Tensor) -> Effects {
        let batch = targetQueries.shape[0], length = targetQueries.shape[1]
        var effects = Effects(query: Array(repeating: Array(repeating: 0, count: length), count: heads),
                              key: Array(repeating: Array(repeating: 0, count: length), count: keyValueHeads),
                              keyAllPositions: Array(repeating: 0, count: keyValueHeads))
        let tq = targetQueries.scalars, sq = sourceQueries.scalars, tk = targetKeys.scalars, sk = sourceKeys.scalars
        let gradient = patternGradient.scalars, maskValues = mask.scalars
        let groupSize = heads / keyValueHeads
        for b in 0..<batch {
            for h in 0..<heads {
                let g = h / groupSize
                func score(_ queries: [Float], _ t: Int, _ keys: [Float], _ s: Int) -> Double {
                    let qBase = ((b * length + t) * heads + h) * headDim, kBase = ((b * length + s) * keyValueHeads + g) * headDim
                    var dot: Float = 0
                    for d in 0..<headDim { dot += queries[qBase + d] * keys[kBase + d] }
                    var x = Double(dot * scale)
                    if let softcap { x = Double(softcap) * tanh(x / Double(softcap)) }
                    return x + Double(maskValues[(b * length + t) * length + s])
                }
                for t in 0..<length {
                    let gRow = ((b * heads + h) * length + t) * length
                    let row = (0..<length).map { score(tq, t, tk, $0) }
                    guard let softmax = SoftmaxRow(row, gradient, gRow) else { continue }
                    let baseline = softmax.expectation
                    effects.query[h][t] += Self.expectation((0..<length).map { score(sq, t, tk, $0) }, gradient, gRow) - baseline
                    effects.keyAllPositions[g] += Self.expectation((0..<length).map { score(tq, t, sk, $0) }, gradient, gRow) - baseline
                    // Patching one key changes one logit of the row: O(1) from the row's sums without that entry.
                    for s in 0..<length where row[s] > -Double.infinity {
                        let logit = score(tq, t, sk, s)
                        guard logit != row[s] else { continue }
                        let patched = softmax.expectation(replacing: s, with: logit) ?? {
                            var patched = row
                            patched[s] = logit
                            return Self.expectation(patched, gradient, gRow)
                        }()
                        effects.key[g][s] += patched - baseline
                    }
                }
            }
        }
        return effects
    }

    /// `Σ_s softmax(logits)_s · gradient[offset + s]`, computed stably; 0 for a fully masked row.
    static func expectation(_ logits: [Double], _ gradient: [Float], _ offset: Int) -> Double {
        guard let top = logits.max(), top > -Double.infinity else { return 0 }
        var total = 0.0, weighted = 0.0
        for (s, logit) in logits.enumerated() {
            let w = exp(logit - top)
            total += w
            weighted += w * Double(gradient[offset + s])
        }
        return weighted / total
    }
}

/// One softmax row's normaliser and gradient-weighted sum, and both without each entry (sums of the entries
/// before it and after it, so no cancellation): the expectation `Σ_s softmax(x)_s · g_s` with one logit replaced
/// then costs O(1) instead of O(row).
struct SoftmaxRow {
    /// The row's largest logit, which the exponentials are taken relative to.
    let top: Double
    let gradient: [Double]
    /// `exp(x_s − top)` and `exp(x_s − top) · g_s` summed over the entries before and after each `s`.
    private let weightBefore: [Double], weightAfter: [Double], weightedBefore: [Double], weightedAfter: [Double]
    /// The baseline expectation.
    let expectation: Double

    /// The row `logits` with gradients `gradient[offset ..< offset + logits.count]`; nil for a fully masked row.
    /// Rows whose logits span more than ``span`` (where an exponential could underflow) are also nil.
    init?(_ logits: [Double], _ gradient: [Float], _ offset: Int) {
        let finite = logits.filter { $0 > -Double.infinity }
        guard let top = finite.max(), top - finite.min()! <= Self.span else { return nil }
        self.top = top
        let n = logits.count
        let rowGradient = (0..<n).map { Double(gradient[offset + $0]) }
        self.gradient = rowGradient
        let weights = logits.map { exp($0 - top) }
        func exclusiveSums(_ values: [Double], reversed: Bool) -> [Double] {
            var sums = [Double](repeating: 0, count: n), running = 0.0
            for s in reversed ? Array((0..<n).reversed()) : Array(0..<n) {
                sums[s] = running
                running += values[s]
            }
            return sums
        }
        let weighted = (0..<n).map { weights[$0] * rowGradient[$0] }
        let (before, weightedPrefix) = (exclusiveSums(weights, reversed: false), exclusiveSums(weighted, reversed: false))
        weightBefore = before
        weightAfter = exclusiveSums(weights, reversed: true)
        weightedBefore = weightedPrefix
        weightedAfter = exclusiveSums(weighted, reversed: true)
        expectation = (weightedPrefix[n - 1] + weighted[n - 1]) / (before[n - 1] + weights[n - 1])
    }

    /// How far below the largest logit the exponentials stay accurate (`exp(−700)` is a normal double).
    static let span = 700.0

    /// The expectation with logit `s` replaced by `logit`; nil when the new logit is not within ``span`` of the
    /// row's largest (the caller then recomputes the row).
    func expectation(replacing s: Int, with logit: Double) -> Double? {
        guard Swift.abs(logit - top) <= Self.span else { return nil }
        let weight = exp(logit - top)
        return (weightedBefore[s] + weightedAfter[s] + weight * gradient[s]) / (weightBefore[s] + weightAfter[s] + weight)
    }
}
