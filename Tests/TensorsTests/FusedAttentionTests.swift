import Foundation
import Testing
import Tensors

/// The fused attention kernel against the unfused composition (scores, soft-capping, mask, softmax, value product)
/// and against a Double-precision reference, on odd shapes, grouped-query heads, padding, sliding windows and
/// soft-capping; and the fused gated activations against their two-step composition.
@Suite struct FusedAttentionTests {
    struct Case {
        let batch, queries, past, heads, kvHeads, headDim: Int
        let padded: Bool
        let window: Int?
        let softcap: Float?
    }

    static let cases: [Case] = [
        Case(batch: 1, queries: 1, past: 0, heads: 1, kvHeads: 1, headDim: 8, padded: false, window: nil, softcap: nil),
        Case(batch: 3, queries: 37, past: 0, heads: 6, kvHeads: 2, headDim: 13, padded: true, window: nil, softcap: nil),
        Case(batch: 2, queries: 70, past: 0, heads: 4, kvHeads: 4, headDim: 64, padded: true, window: 9, softcap: 50),
        Case(batch: 2, queries: 5, past: 11, heads: 3, kvHeads: 1, headDim: 7, padded: true, window: nil, softcap: 2),
        Case(batch: 1, queries: 33, past: 0, heads: 2, kvHeads: 1, headDim: 16, padded: false, window: 40, softcap: nil),
    ]

    /// Left padding on odd rows (the first `row + 1` keys hidden), none on even rows.
    static func paddingMask(_ c: Case) -> Tensor? {
        guard c.padded else { return nil }
        let keys = c.past + c.queries
        return Tensor(shape: [c.batch, keys], scalars: (0..<c.batch).flatMap { b in
            (0..<keys).map { j in b % 2 == 1 && j <= b ? 0 : 1 }
        })
    }

    @Test(arguments: cases.indices)
    func fusedEqualsUnfusedAndDoubleReference(_ index: Int) {
        let c = Self.cases[index]
        let keys = c.past + c.queries, seed = UInt64(index * 10)
        let q = Tensor.random([c.batch, c.queries, c.heads, c.headDim], in: -2...2, seed: seed + 1)
        let k = Tensor.random([c.batch, keys, c.kvHeads, c.headDim], in: -2...2, seed: seed + 2)
        let v = Tensor.random([c.batch, keys, c.kvHeads, c.headDim], in: -2...2, seed: seed + 3)
        let mask = attentionMask(queryCount: c.queries, keyCount: keys, paddingMask: Self.paddingMask(c), slidingWindow: c.window)
        let scale = 1 / Float(c.headDim).squareRoot()

        var scores = attentionScores(query: q.permuted([0, 2, 1, 3]), key: k.permuted([0, 2, 1, 3]), scale: scale)
        if let cap = c.softcap { scores = (scores / cap).tanh() * cap }
        let pattern = (scores + mask).softmax()
        let unfused = attentionOutput(pattern: pattern, value: v.permuted([0, 2, 1, 3])).permuted([0, 2, 1, 3])

        let fused = fusedAttention(query: q, key: k, value: v, layout: .positionMajor, mask: mask, scale: scale, softcap: c.softcap)
        let headMajor = fusedAttention(query: q, key: k.permuted([0, 2, 1, 3]), value: v.permuted([0, 2, 1, 3]),
                                       layout: .headMajor, mask: mask, scale: scale, softcap: c.softcap)
        #expect(fused.shape == unfused.shape)
        // The same products, the same operations: equal bit for bit, so hooked and unhooked runs agree exactly.
        #expect(fused.scalars == unfused.scalars)
        #expect(fused.scalars == headMajor.scalars)

        let reference = doubleAttention(q, k, v, mask: mask, scale: Double(scale), softcap: c.softcap.map(Double.init))
        for (a, b) in zip(fused.scalars, reference) { #expect(abs(Double(a) - b) <= 1e-5) }
    }

    @Test func withoutMaskEveryKeyIsSeen() {
        let q = Tensor.random([2, 9, 2, 5], seed: 70), k = Tensor.random([2, 12, 1, 5], seed: 71)
        let v = Tensor.random([2, 12, 1, 5], seed: 72)
        let fused = fusedAttention(query: q, key: k, value: v, layout: .positionMajor, mask: nil, scale: 0.3)
        let pattern = attentionScores(query: q.permuted([0, 2, 1, 3]), key: k.permuted([0, 2, 1, 3]), scale: 0.3).softmax()
        let unfused = attentionOutput(pattern: pattern, value: v.permuted([0, 2, 1, 3])).permuted([0, 2, 1, 3])
        #expect(fused.scalars == unfused.scalars)
    }

    @Test func rowsThatSeeNoKeyGiveZeros() {
        let q = Tensor.random([1, 3, 1, 4], seed: 80), k = Tensor.random([1, 3, 1, 4], seed: 81)
        let v = Tensor.random([1, 3, 1, 4], seed: 82)
        let mask = attentionMask(queryCount: 3, keyCount: 3, paddingMask: Tensor(shape: [1, 3], scalars: [0, 0, 1]))
        let z = fusedAttention(query: q, key: k, value: v, layout: .positionMajor, mask: mask, scale: 0.5)
        #expect(Array(z.scalars[0..<8]) == [Float](repeating: 0, count: 8))
        #expect(Array(z.scalars[8..<12]) == Array(v.scalars[8..<12]))
    }

    @Test func gatedActivationsEqualTheirComposition() {
        let gate = Tensor.random([3, 37], in: -6...6, seed: 90), up = Tensor.random([3, 37], in: -3...3, seed: 91)
        #expect(gate.siluGated(up).scalars == (gate.silu() * up).scalars)
        #expect(gate.geluGated(up).scalars == (gate.gelu() * up).scalars)
        #expect(gate.geluGated(up, approximate: .tanh).scalars == (gate.gelu(approximate: .tanh) * up).scalars)
    }

    @Test func rotaryTablesAreReusedOnlyForEqualPositions() {
        let rope = RotaryEmbedding(headDim: 8, base: 10_000)
        let x = Tensor.random([2, 3, 2, 8], seed: 95)
        let first = rope.apply(to: x, positions: [[0, 1, 2], [0, 1, 2]])
        let shifted = rope.apply(to: x, positions: [[3, 4, 5], [0, 1, 2]])
        #expect(shifted.scalars != first.scalars)
        #expect(rope.apply(to: x, positions: [[0, 1, 2], [0, 1, 2]]).scalars == first.scalars)
        let (cos, sin) = rope.cosSin(positions: [[3, 4, 5], [0, 1, 2]])
        let x1 = x[0, 0, 0, 0], x2 = x[0, 0, 0, 4]
        #expect(shifted[0, 0, 0, 0] == x1 * cos[0, 0, 0] - x2 * sin[0, 0, 0])
    }

    /// softmax(cap(scale q·k) + mask) · v in Double, `[batch, queries, heads, headDim]`.
    private func doubleAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor, scale: Double, softcap: Double?) -> [Double] {
        let (batch, queries, heads, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let keys = k.shape[1], kvHeads = k.shape[2], group = heads / kvHeads
        var out = [Double](repeating: 0, count: q.count)
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<queries {
                    var logits = [Double](repeating: -.infinity, count: keys)
                    for j in 0..<keys {
                        let m = Double(mask[mask.shape[0] == 1 ? 0 : b, 0, i, j])
                        guard m != -.infinity else { continue }
                        var dot = 0.0
                        for x in 0..<d { dot += Double(q[b, i, h, x]) * Double(k[b, j, h / group, x]) }
                        var s = dot * scale
                        if let softcap { s = softcap * Foundation.tanh(s / softcap) }
                        logits[j] = s + m
                    }
                    let top = logits.max()!
                    guard top != -.infinity else { continue }
                    let weights = logits.map { Foundation.exp($0 - top) }
                    let total = weights.reduce(0, +)
                    for x in 0..<d {
                        var sum = 0.0
                        for j in 0..<keys where weights[j] > 0 { sum += weights[j] * Double(v[b, j, h / group, x]) }
                        out[((b * queries + i) * heads + h) * d + x] = sum / total
                    }
                }
            }
        }
        return out
    }
}
