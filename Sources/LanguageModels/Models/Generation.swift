/// How the next token is chosen from logits.
public struct Sampler: Sendable {
    /// 0 picks the most likely token (greedy); higher values flatten the distribution.
    public var temperature: Float
    /// Keep only the `topK` most likely tokens (nil: all).
    public var topK: Int?
    /// Keep the smallest set of most likely tokens whose probability reaches `topP` (nil: all).
    public var topP: Float?
    public var seed: UInt64

    public init(temperature: Float = 0, topK: Int? = nil, topP: Float? = nil, seed: UInt64 = 0) {
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.seed = seed
    }

    /// Greedy decoding.
    public static let greedy = Sampler()

    /// Picks a token from one row of logits `[vocab]`.
    public func sample(_ logits: Tensor, using generator: inout SeededGenerator) -> Int {
        if temperature <= 0 { return logits.argmax() }
        let probabilities = (logits / temperature).softmax(axis: -1).scalars
        var order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }
        if let topK { order = Array(order.prefix(Swift.max(topK, 1))) }
        if let topP {
            var mass: Float = 0
            var kept = 0
            for index in order {
                mass += probabilities[index]
                kept += 1
                if mass >= topP { break }
            }
            order = Array(order.prefix(kept))
        }
        let total = order.reduce(Float(0)) { $0 + probabilities[$1] }
        var threshold = Float.random(in: 0..<total, using: &generator)
        for index in order {
            threshold -= probabilities[index]
            if threshold < 0 { return index }
        }
        return order.last!
    }
}

extension TransformerModel {
    /// Continues each sequence of `batch` by up to `maxTokens` tokens, with a key-value cache.
    ///
    /// Hooks (and interventions registered on them) run at every step; during a step the activation covers
    /// only the new token, and ``HookContext/positionOffset`` tells its absolute position.
    /// Generation of a sequence stops after `stopTokens`.
    public func generate(_ batch: TokenBatch, maxTokens: Int, sampler: Sampler = .greedy,
                         stopTokens: Set<Int> = [], hooks: ForwardHooks? = nil) -> [[Int]] {
        let cache = KeyValueCache(layerCount: layerCount)
        var generator = SeededGenerator(seed: sampler.seed)
        var generated = [[Int]](repeating: [], count: batch.batchSize)
        var finished = [Bool](repeating: false, count: batch.batchSize)
        var step = batch
        for _ in 0..<maxTokens {
            guard cache.length + step.length <= contextLength else { break }
            let logits = forward(step, hooks: hooks, cache: cache, logitPositions: .last)
            var next: [Int] = []
            for b in 0..<batch.batchSize {
                let token = sampler.sample(logits.select(axis: 0, b).select(axis: 0, 0), using: &generator)
                next.append(token)
                if !finished[b] {
                    generated[b].append(token)
                    finished[b] = stopTokens.contains(token)
                }
            }
            if finished.allSatisfy({ $0 }) { break }
            step = TokenBatch(next.map { [$0] })
        }
        return generated
    }
}
