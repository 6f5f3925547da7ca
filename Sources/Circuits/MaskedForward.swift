extension EdgePatching {
    /// The metric of the run in which every edge carries a fraction of its sender's output, and its gradient with
    /// respect to those fractions: the differentiable forward pass of mask optimization.
    ///
    /// With keep fractions `z` (one per edge, in the order of ``ComputationGraph/edges``), receiver `r` reads
    /// `Σ_s [z_{s→r} · out_s(this run) + (1 − z_{s→r}) · out_s(source)]` plus the biases before it, i.e. its
    /// all-patched input plus `Σ_s z_{s→r} · (out_s(this run) − out_s(source))` (`input`'s output in this run is
    /// the clean embedding). `z = 1` everywhere is the clean run, `z = 0` the source run, and a 0/1 `z` is the
    /// circuit of the edges with `z = 1` (``metrics(_:)`` with the complement mask gives the same value).
    ///
    /// One forward and one backward pass on the gradient tape: each receiver group (a block's queries, keys or
    /// values, its MLP, the logits) reads its input from one recorded operation whose backward gives both the
    /// senders' gradients and the fractions' (`∂m/∂z_{s→r} = Σ (out_s − source_s) · ∂m/∂in_r`).
    public func maskedRun(keep z: [Float]) -> (value: Float, gradient: [Float]) {
        precondition(z.count == graph.edges.count, "\(z.count) mask values for \(graph.edges.count) edges")
        let layers = model.layerCount
        let fractions = MaskFractions(values: z, offsets: graph.edgeOffsets)
        return withGradients { tape in
            let anchor = tape.watch(Tensor(0))
            var deltas = [Tensor?](repeating: nil, count: graph.senders.count)
            deltas[0] = -senderDeltas.slice(axis: 0, 0..<1).reshaped(sourceOutputs[0].shape)
            let hooks = ForwardHooks()
            for l in 0..<layers {
                let receivers = BlockReceivers(graph, layer: l)
                let headSenders = graph.index(of: .head(layer: l, head: 0))
                for (point, range) in [(HookPoint.qInput(l), receivers.queries), (.kInput(l), receivers.keys),
                                       (.vInput(l), receivers.values)] {
                    hooks.add(point) { _, _ in
                        self.maskedInput(range, perHead: true, deltas: deltas, fractions: fractions, anchor: anchor)
                    }
                }
                hooks.add(.result(l)) { x, _ in
                    for h in 0..<graph.headCount {
                        deltas[headSenders + h] = x.select(axis: 2, h) - sourceOutputs[headSenders + h]
                    }
                    return x
                }
                if let mlp = receivers.mlp {
                    let mlpSender = graph.index(of: ComputationGraph.Sender.mlp(layer: l))
                    hooks.add(.mlpIn(l)) { _, _ in
                        self.maskedInput(mlp..<(mlp + 1), perHead: false, deltas: deltas, fractions: fractions, anchor: anchor)
                    }
                    hooks.add(.mlpOut(l)) { x, _ in
                        deltas[mlpSender] = x - sourceOutputs[mlpSender]
                        return x
                    }
                }
            }
            let logitsReceiver = graph.index(of: .logits)
            hooks.add(.residPost(layers - 1)) { _, _ in
                self.maskedInput(logitsReceiver..<(logitsReceiver + 1), perHead: false, deltas: deltas,
                                 fractions: fractions, anchor: anchor)
            }
            let value = metric(model.forward(pairs.clean, hooks: hooks, logitPositions: .last))
            _ = tape.gradient(of: value, withRespectTo: anchor)
            return (value.item, fractions.gradient)
        }
    }

    /// The input of the receivers `receivers` (one group reading one residual point) under keep fractions:
    /// `[batch, pos, receivers, d]` when `perHead`, else `[batch, pos, d]`. Its backward adds `∂m/∂z` of the
    /// group's edges to `fractions` and returns each sender delta's gradient (`anchor` keeps it on the tape
    /// when no delta is tracked).
    ///
    /// In a position-aware graph each token position reads the mix of its bucket's fractions (as
    /// ``patchedLogits(_:)`` reads its bucket's mask), so `∂m/∂z` of the edge at bucket `b` sums over the
    /// bucket's token positions only.
    private func maskedInput(_ receivers: Range<Int>, perHead: Bool, deltas: [Tensor?], fractions: MaskFractions,
                             anchor: Tensor) -> Tensor {
        let base = allPatchedInput(of: receivers.lowerBound)
        let size = base.count, rows = receivers.count, d = model.dModel, buckets = graph.positionCount
        let senders = graph.upstreamCount(of: receivers.lowerBound)
        let inputs = (0..<senders).map { deltas[$0]! }
        // weights[b][s * rows + i]: the keep fraction of edge s → receivers[i] at position bucket b.
        let weights = (0..<buckets).map { b in
            (0..<senders).flatMap { s in receivers.map { fractions.values[fractions.offsets[$0] + s * buckets + b] } }
        }
        let indicators = positionBuckets.map { positions in (0..<buckets).map { b in positions.indicator { $0 == b } } }
        // x kept at bucket b's token positions (zero elsewhere); x itself in a plain graph.
        let atBucket = { (x: Tensor, b: Int) -> Tensor in
            guard let indicators else { return x }
            return (x.reshaped([self.pairs.count, self.pairs.length, -1]) * indicators[b]).reshaped(x.shape)
        }
        let shape = perHead ? [pairs.count, pairs.length, rows, d] : base.shape
        let mixes = (0..<buckets).map { b in
            var sums = Tensor.WeightedSums(rows: rows, length: size)
            sums.add(.init(base), weights: Array(repeating: 1, count: rows))
            for s in 0..<senders { sums.add(.init(inputs[s]), weights: Array(weights[b][(s * rows)..<((s + 1) * rows)])) }
            return atBucket(sums.result(interleaving: perHead ? d : nil).reshaped(shape), b)
        }
        let mixed = mixes.dropFirst().reduce(mixes[0], +)
        return mixed.recorded(from: [anchor] + inputs) { upstream in
            // Per bucket, receiver-major gradient rows [rows, size] (zero outside the bucket's positions).
            let gradientRows = (0..<buckets).map { b in
                let bucketUpstream = atBucket(upstream, b)
                return Tensor(shape: [rows * size],
                              scalars: perHead ? Self.deinterleaved(bucketUpstream, rows: rows, segment: d) : bucketUpstream.scalars)
            }
            for b in 0..<buckets {
                var fractionGradient = [Float](repeating: 0, count: senders * rows)
                gradientRows[b].scalars.withUnsafeBufferPointer { g in
                    fractionGradient.withUnsafeMutableBufferPointer { out in
                        let results = out.baseAddress!
                        Parallel.forEach(senders) { s in
                            inputs[s].scalars.withUnsafeBufferPointer { delta in
                                for i in 0..<rows { results[s * rows + i] = Self.dot(delta.baseAddress!, g.baseAddress! + i * size, size) }
                            }
                        }
                    }
                }
                for s in 0..<senders {
                    for (i, r) in receivers.enumerated() {
                        fractions.gradient[fractions.offsets[r] + s * buckets + b] += fractionGradient[s * rows + i]
                    }
                }
            }
            // Sender s's gradient Σ_b Σ_i z_{s→i@b} · rows_b[i], the rows read in place.
            let perSender: [Tensor?] = (0..<senders).map { s in
                guard s > 0 else { return nil }
                var sum = Tensor.WeightedSums(rows: 1, length: size)
                for b in 0..<buckets {
                    for i in 0..<rows { sum.add(.init(gradientRows[b], offset: i * size), weights: [weights[b][s * rows + i]]) }
                }
                return sum.result().reshaped(inputs[s].shape)
            }
            return [nil] + perSender
        }
    }

    /// `Σ a[i]·b[i]` over `count` elements, in a fixed order (16 lanes, then the tail).
    private static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var lanes = SIMD16<Float>(), i = 0
        while i + 16 <= count {
            lanes += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self) * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
        var sum = lanes.sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// `[positions, rows, segment]` scalars rearranged as `[rows, positions · segment]`.
    private static func deinterleaved(_ x: Tensor, rows: Int, segment: Int) -> [Float] {
        let positions = x.count / (rows * segment)
        return x.scalars.withUnsafeBufferPointer { source in
            [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
                for p in 0..<positions {
                    for r in 0..<rows {
                        let from = source.baseAddress! + (p * rows + r) * segment
                        (out.baseAddress! + r * positions * segment + p * segment).update(from: from, count: segment)
                    }
                }
                initialized = x.count
            }
        }
    }
}

/// Keep fractions of the edges during one masked run, and the gradient the run's backward pass accumulates.
final class MaskFractions {
    let values: [Float]
    /// The index of each receiver's first edge in ``ComputationGraph/edges``.
    let offsets: [Int]
    var gradient: [Float]

    init(values: [Float], offsets: [Int]) {
        self.values = values
        self.offsets = offsets
        gradient = [Float](repeating: 0, count: values.count)
    }
}
