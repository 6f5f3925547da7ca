/// A model whose circuit for its task is known by construction, with distractor components around it (in the
/// spirit of InterpBench): the benchmark on which every edge-scoring method's ROC against the true edges is read.
///
/// Three layers of two heads and an MLP, weights set by hand (distractors seeded), norms exact identities (RMSNorm
/// with ε = 10¹² and gain √ε). Residual layout: token one-hot [0, 6), position one-hot [6, 13), previous-token
/// one-hot [13, 19), output one-hot [19, 25), distractor subspace [25, 33). The planted induction circuit:
/// head `a0.h0` attends from position i to i − 1 (reading positions) and writes the token there into the
/// previous-token subspace; head `a1.h1` attends from the current token to the position whose previous token equals
/// it (K-composition with `a0.h0`) and copies that position's token into the output subspace, which the
/// unembedding reads. Every other head and MLP (`a0.h1`, `a1.h0`, `a2.*`, `m0`–`m2`) reads the whole residual stream
/// with seeded random weights and writes only the distractor subspace, which nothing in the circuit reads.
///
/// The task: clean `[a b c d a b c]` (a permutation of tokens 0–3, then its first three again), answer `d`;
/// corrupted `[4 5 4 5 a b c]`, wrong answer 4; logit difference. The true edges are those whose patching changes
/// the metric: `input→a0.h0<v>`, `a0.h0→a1.h1<k>`, `input→a1.h1<v>`, `a1.h1→logits` (queries read tokens and
/// positions that the corrupted prompts share, so query and position edges carry no change).
public enum PlantedCircuit {
    static let vocabulary = 6, length = 7, distractorWidth = 8
    static let token = 0, position = 6, previous = 13, output = 19, distractor = 25, width = 33

    /// The true edges of the task, by name.
    public static let trueEdgeNames = ["input->a0.h0<v>", "a0.h0->a1.h1<k>", "input->a1.h1<v>", "a1.h1->logits"]

    /// The model; `seed` draws the distractors' weights.
    public static func model(seed: UInt64 = 0) -> TransformerModel {
        var generator = SeededGenerator(seed: seed)
        let v = vocabulary, p = length, d = width
        let sharp: Float = 30 * Float(p).squareRoot()
        let previousToken = Head(query: matrix(p, d, (0..<p).map { ($0, position + $0, sharp) }),
                                 key: matrix(p, d, (0..<(p - 1)).map { ($0 + 1, position + $0, 1) }),
                                 value: matrix(p, d, (0..<v).map { ($0, token + $0, 1) }),
                                 output: matrix(d, p, (0..<v).map { (previous + $0, $0, 1) }))
        let induction = Head(query: matrix(p, d, (0..<v).map { ($0, token + $0, sharp) }),
                             key: matrix(p, d, (0..<v).map { ($0, previous + $0, 1) }),
                             value: matrix(p, d, (0..<v).map { ($0, token + $0, 1) }),
                             output: matrix(d, p, (0..<v).map { (output + $0, $0, 1) }))
        let heads = [[previousToken, Head.distractor(&generator)],
                     [Head.distractor(&generator), induction],
                     [Head.distractor(&generator), Head.distractor(&generator)]]
        let blocks = heads.enumerated().map { layer, pair in
            TransformerBlock(layer: layer, ln1: identityNorm(), attention: attention(pair), ln2: identityNorm(),
                             mlp: distractorMLP(&generator))
        }
        return TransformerModel(tokenEmbedding: matrix(v, d, (0..<v).map { ($0, token + $0, 1) }),
                                positionEmbedding: matrix(p, d, (0..<p).map { ($0, position + $0, 1) }), blocks: blocks,
                                finalNorm: identityNorm(), unembedding: matrix(v, d, (0..<v).map { ($0, output + $0, 1) }),
                                contextLength: p)
    }

    /// The task's prompt pairs: the first `count` permutations of tokens 0–3 (at most 24).
    public static func pairs(count: Int = 8) throws -> PromptPairs {
        let permutations = Self.permutations([0, 1, 2, 3]).prefix(count)
        return try PromptPairs(clean: permutations.map { $0 + $0.prefix(3) },
                               corrupted: permutations.map { [4, 5, 4, 5] + $0.prefix(3) },
                               answers: permutations.map { $0[3] }, wrongs: permutations.map { _ in 4 })
    }

    /// The true edges in `graph` (the planted model's graph).
    public static func trueEdges(in graph: ComputationGraph) -> Set<ComputationGraph.Edge> {
        let byName = graph.edgesByName()
        return Set(trueEdgeNames.map { byName[$0]! })
    }

    /// One head's weights: query, key and value `[headDim, d]`, output `[d, headDim]`.
    struct Head {
        let query, key, value, output: Tensor

        /// Reads every residual direction with random weights, writes only the distractor subspace.
        static func distractor(_ generator: inout SeededGenerator) -> Head {
            let p = length, d = width
            func random(_ rows: Int, _ columns: Int) -> Tensor {
                Tensor.randomNormal([rows, columns], standardDeviation: 0.5, using: &generator)
            }
            let (query, key, value) = (random(p, d), random(p, d), random(p, d))
            return Head(query: query, key: key, value: value, output: distractorRows(random(distractorWidth, p)))
        }
    }

    static func attention(_ heads: [Head]) -> Attention {
        let p = length
        return Attention(query: Linear(weight: Tensor.concatenate(heads.map(\.query), axis: 0)),
                         key: Linear(weight: Tensor.concatenate(heads.map(\.key), axis: 0)),
                         value: Linear(weight: Tensor.concatenate(heads.map(\.value), axis: 0)),
                         output: Linear(weight: Tensor.concatenate(heads.map(\.output), axis: 1)),
                         heads: heads.count, keyValueHeads: heads.count, headDim: p, scale: 1 / Float(p).squareRoot())
    }

    /// An MLP reading every direction with random weights and writing only the distractor subspace.
    static func distractorMLP(_ generator: inout SeededGenerator) -> FeedForward {
        let hidden = 8, d = width
        let input = Tensor.randomNormal([hidden, d], standardDeviation: 0.5, using: &generator)
        let bias = Tensor.randomNormal([hidden], standardDeviation: 0.5, using: &generator)
        let output = distractorRows(Tensor.randomNormal([distractorWidth, hidden], standardDeviation: 0.5, using: &generator))
        return FeedForward(input: Linear(weight: input, bias: bias), output: Linear(weight: output), activation: .relu)
    }

    /// A `[width, columns]` output matrix whose distractor rows are `writes` (`[distractorWidth, columns]`), the rest 0.
    static func distractorRows(_ writes: Tensor) -> Tensor {
        let columns = writes.shape[1]
        var scalars = [Float](repeating: 0, count: width * columns)
        for i in 0..<writes.count { scalars[distractor * columns + i] = writes.scalars[i] }
        return Tensor(shape: [width, columns], scalars: scalars)
    }

    /// RMSNorm that is the identity to float precision: ε = 10¹², gain √ε.
    static func identityNorm() -> Normalization {
        let epsilon: Float = 1e12
        return Normalization(kind: .rmsNorm, weight: Tensor(repeating: epsilon.squareRoot(), shape: [width]), epsilon: epsilon)
    }

    /// A `[rows, columns]` matrix with the given nonzero entries.
    static func matrix(_ rows: Int, _ columns: Int, _ entries: [(Int, Int, Float)]) -> Tensor {
        var scalars = [Float](repeating: 0, count: rows * columns)
        for (r, c, v) in entries { scalars[r * columns + c] = v }
        return Tensor(shape: [rows, columns], scalars: scalars)
    }

    static func permutations(_ items: [Int]) -> [[Int]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { i in
            permutations(Array(items[..<i] + items[(i + 1)...])).map { [items[i]] + $0 }
        }
    }
}
