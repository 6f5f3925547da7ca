/// Patched runs that differ from the cached run only in some of its examples, and there only from some token
/// position on: a patch at one position, or where the two runs' activations differ.
///
/// Attention is causal, so such a run equals the cached run before its first changed position: a pass takes the
/// cached residual stream before the patched block for the changed examples only, from the first changed position
/// up to their last read position, and attends to the cached run's keys and values of the earlier positions
/// (``KeyValueCache/prefix(rows:length:fromLayer:)``). The examples a patch leaves alone keep the cached run's
/// logits. Variants with the same first changed position share a pass.
struct ChangedPositionRuns {
    /// What one patched run changes: the examples (in order) in which some position up to the read position
    /// changes, and the first such position over them.
    struct Change: Equatable {
        let rows: [Int], start: Int
    }

    /// The rows (variant-major: each variant's changed examples in turn) and token positions one pass computes.
    struct Pass {
        let rows: [Int], positions: Range<Int>
    }

    var runs: PatchedRuns
    /// The cached run's keys and values at every layer.
    let keyValues: KeyValueCache
    /// The cached run's logits at the read positions, `[batch, vocab]`.
    let readLogits: Tensor

    /// Runs the cached run once more to record its keys and values.
    init(_ runs: PatchedRuns) {
        self.runs = runs
        let model = runs.model, batch = runs.batch
        keyValues = KeyValueCache(layerCount: model.layerCount)
        _ = model.forward(batch, cache: keyValues, logitPositions: .none)
        readLogits = model.unembed(runs.residuals[model.layerCount].gather(positions: batch.lastPositions), hooks: nil)
            .reshaped([batch.batchSize, -1])
    }

    /// The change of a patch whose effect on the patched activation is nonzero at `changed[row][position]`.
    func change(nonzeroAt changed: (_ row: Int, _ position: Int) -> Bool) -> Change {
        var rows: [Int] = [], start = Int.max
        for (row, read) in runs.batch.lastPositions.enumerated() {
            guard let first = (0...read).first(where: { changed(row, $0) }) else { continue }
            rows.append(row)
            start = Swift.min(start, first)
        }
        return Change(rows: rows, start: rows.isEmpty ? 0 : start)
    }

    /// The metric of each patched run, patched in block `layer` by the hooks `hooks(variants, pass)` returns for
    /// the variants `variants` (indices into `changes`) of one pass.
    func metrics(_ changes: [Change], layer: Int, hooks: (_ variants: [Int], _ pass: Pass) -> ForwardHooks) -> [Float] {
        let unpatched = runs.metric(readLogits).item
        var results = [Float](repeating: unpatched, count: changes.count)
        let order = changes.indices.filter { !changes[$0].rows.isEmpty }.sorted {
            (changes[$0].start, $0) < (changes[$1].start, $1)
        }
        var first = 0
        while first < order.count {
            var end = first + 1, rowCount = changes[order[first]].rows.count
            while end < order.count, changes[order[end]].start == changes[order[first]].start,
                  rowCount + changes[order[end]].rows.count <= runs.maxRowsPerPass {
                rowCount += changes[order[end]].rows.count
                end += 1
            }
            let variants = Array(order[first..<end])
            for (v, value) in zip(variants, metrics(of: variants.map { changes[$0] }, layer: layer, hooks: { hooks(variants, $0) })) {
                results[v] = value
            }
            first = end
        }
        return results
    }

    /// One pass: the metric of each of `changes` (same start).
    private func metrics(of changes: [Change], layer: Int, hooks: (Pass) -> ForwardHooks) -> [Float] {
        let model = runs.model, batch = runs.batch, read = batch.lastPositions
        let rows = changes.flatMap(\.rows), start = changes[0].start
        let positions = start..<(rows.map { read[$0] }.max()! + 1)
        let later = TokenBatch(tokens: rows.map { Array(batch.tokens[$0][positions]) }, mask: rows.map { Array(batch.mask[$0][positions]) })
        let prefix = start > 0 ? keyValues.prefix(rows: rows, length: start, fromLayer: layer) : nil
        let context = AttentionContext(batch: later, pastMask: prefix?.mask, pastPositions: prefix?.nextPositions)
        let residual = runs.residuals[layer].indexSelect(axis: 0, rows).slice(axis: 1, positions)
        let final = model.runBlocks(layer..<model.layerCount, residual: residual, context: context,
                                    hooks: hooks(Pass(rows: rows, positions: positions)), cache: prefix)
        let logits = model.unembed(final.gather(positions: rows.map { read[$0] - start }), hooks: nil).reshaped([rows.count, -1])
        let vocabulary = logits.shape[1]
        var offset = 0
        return logits.scalars.withUnsafeBufferPointer { computed in
            changes.map { change in
                var scalars = readLogits.scalars
                scalars.withUnsafeMutableBufferPointer { out in
                    for row in change.rows {
                        (out.baseAddress! + row * vocabulary).update(from: computed.baseAddress! + offset * vocabulary, count: vocabulary)
                        offset += 1
                    }
                }
                return runs.metric(Tensor(shape: readLogits.shape, scalars: scalars)).item
            }
        }
    }
}

extension ActivationLayout {
    /// The part of an activation of this layout, or of a mask that broadcasts to one (extent 1 on an axis), that a
    /// pass of ``ChangedPositionRuns`` sees: the examples `rows`, the query positions `positions`, the keys before
    /// their end.
    func part(of activation: Tensor, rows: [Int], positions: Range<Int>) -> Tensor {
        var part = activation.indexSelect(axis: 0, rows)
        if part.shape[positionAxis] > 1 { part = part.slice(axis: positionAxis, positions) }
        if let keyAxis, part.shape[keyAxis] > 1 { part = part.slice(axis: keyAxis, 0..<positions.upperBound) }
        return part
    }
}
