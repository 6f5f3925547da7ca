extension EdgePatching {
    /// Per sender: its output on `reference` averaged over each example's real (unpadded) positions, then over
    /// the examples, `[1, 1, dModel]` broadcast to `shape` (the same vector at every position of every prompt).
    ///
    /// This is the MIB / EAP-IG `mean` ablation as `compute_mean_activations(per_position=False)` intends it
    /// (EAP-IG `src/eap/utils.py`: per example, the sum over its positions divided by its length, summed over
    /// examples and divided by their count). As written, that function masks only each example's last position
    /// and then averages the result over all nodes (`means.mean(0)`), giving one vector for every node; that
    /// looks unintended and is not reproduced. `mean-positional` is ``Source/meanPerPosition(_:)``.
    static func positionMeans(_ outputs: [Tensor], mask: [[Bool]], shape: [Int]) -> [Tensor] {
        let lengths = mask.map { $0.filter { $0 }.count }
        return outputs.map { output in
            let (batch, positions, width) = (output.shape[0], output.shape[1], output.shape[2])
            let values = output.scalars
            var mean = [Float](repeating: 0, count: width)
            for b in 0..<batch {
                let weight = 1 / (Float(Swift.max(lengths[b], 1)) * Float(batch))
                for p in 0..<positions where mask[b][p] {
                    let row = (b * positions + p) * width
                    for i in 0..<width { mean[i] += values[row + i] * weight }
                }
            }
            return Tensor(shape: [1, 1, width], scalars: mean).broadcast(to: shape)
        }
    }
}
