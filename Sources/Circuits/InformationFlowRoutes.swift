extension EdgePatching {
    /// Information flow routes (Ferrando & Voita 2024), ``EdgeAttributionMethod/informationFlowRoutes``, as the
    /// EAP-IG library's `get_scores_information_flow_routes` computes them: on the clean run only, at each real
    /// position, `proximity(u) = max(0, ‖x‖₁ − ‖o_u − x‖₁)` for the receiver's input `x` and each sender's output
    /// `o_u`, normalized to sum to 1 over the receiver's senders, averaged over each example's real positions and
    /// then over examples. Receivers that read the same residual point (a block's queries, keys and values) get
    /// the same scores. A position where every sender's proximity is 0 (an input of all zeros, say) adds
    /// nothing; the library divides 0 by 0 there and its scores become NaN.
    func informationFlowRoutes() -> EdgeScores {
        let d = model.dModel, rows = pairs.count * pairs.length, size = rows * d
        let mask = pairs.clean.mask.flatMap { $0 }
        // Each row's weight in the average: 1 / (real positions of its example × examples), 0 for padding.
        let weights = pairs.clean.mask.flatMap { example in
            let real = Float(example.filter { $0 }.count)
            return example.map { $0 ? 1 / (real * Float(pairs.count)) : 0 }
        }
        var matrix = [Float](repeating: 0, count: graph.senders.count * graph.receivers.count)
        var byPoint: [HookPoint: [Float]] = [:]
        for (point, upstream) in graph.readPoints {
            let input = cleanInputs[point]!.scalars
            var norms = [Float](repeating: 0, count: rows)
            for row in 0..<rows where mask[row] {
                for i in 0..<d { norms[row] += Swift.abs(input[row * d + i]) }
            }
            // proximity[s * rows + row], the clean output being the source output minus the sender's delta.
            var proximity = [Float](repeating: 0, count: upstream * rows)
            senderDeltas.scalars.withUnsafeBufferPointer { deltas in
                for s in 0..<upstream {
                    sourceOutputs[s].scalars.withUnsafeBufferPointer { source in
                        for row in 0..<rows where mask[row] {
                            var distance: Float = 0
                            for i in 0..<d {
                                let j = row * d + i
                                distance += Swift.abs(source[j] - deltas[s * size + j] - input[j])
                            }
                            proximity[s * rows + row] = Swift.max(0, norms[row] - distance)
                        }
                    }
                }
            }
            var importance = [Float](repeating: 0, count: upstream)
            for row in 0..<rows where mask[row] {
                let total = (0..<upstream).reduce(Float(0)) { $0 + proximity[$1 * rows + row] }
                guard total > 0 else { continue }
                for s in 0..<upstream { importance[s] += proximity[s * rows + row] / total * weights[row] }
            }
            byPoint[point] = importance
        }
        for r in graph.receivers.indices {
            let importance = byPoint[graph.readPoint(of: r)]!
            for s in 0..<graph.upstreamCount(of: r) { matrix[s * graph.receivers.count + r] = importance[s] }
        }
        return edgeScores(matrix, method: EdgeAttributionMethod.informationFlowRoutes.name)
    }
}
