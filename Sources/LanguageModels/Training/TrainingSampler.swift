/// Which examples each training step uses: epochs of seeded shuffles laid end to end, cut into batches.
///
/// The batch of a step is a pure function of `(seed, step)`, so a run resumed from a checkpoint sees
/// exactly the batches an uninterrupted run would have.
public struct TrainingSampler: Sendable {
    public let exampleCount: Int
    public let batchSize: Int
    public let seed: UInt64

    public init(exampleCount: Int, batchSize: Int, seed: UInt64) {
        precondition(exampleCount > 0 && batchSize > 0, "the sampler needs examples and a positive batch size")
        self.exampleCount = exampleCount
        self.batchSize = batchSize
        self.seed = seed
    }

    /// The example indices of step `step` (0-based).
    public func indices(forStep step: Int) -> [Int] {
        let first = step * batchSize
        var order: (epoch: Int, permutation: [Int])?
        return (first..<(first + batchSize)).map { position in
            let epoch = position / exampleCount
            if order?.epoch != epoch { order = (epoch, permutation(epoch: epoch)) }
            return order!.permutation[position % exampleCount]
        }
    }

    /// The shuffled order of one epoch.
    func permutation(epoch: Int) -> [Int] {
        var generator = SeededGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
        return Array(0..<exampleCount).shuffled(using: &generator)
    }
}
