/// Patched runs that differ from the cached run only in some of its examples, and there only from some token
/// position on: a patch at one position, or where the two runs' activations differ.
///
/// Attention is causal, so such a run equals the cached run before its first changed position: each changed
/// example is computed from its own first changed position up to its read position, from the cached residual
/// stream before the patched block, attending to the cached run's keys and values of the earlier positions
/// (``KeyValueCache/prefix(rows:length:fromLayer:)``). The examples a patch leaves alone keep the cached run's
/// logits. Examples (of any variants) with the same first changed position share a pass.
struct ChangedPositionRuns {
    /// What one patched run changes: the examples (in order) in which some position up to the read position
    /// changes, and each one's first such position.
    struct Change: Equatable {
        let rows: [Int], starts: [Int]
    }

    /// The rows one pass computes, each an example of one variant (an index into the changes), and their token
    /// positions (one first position for all; a row's positions after its read position are not read).
    struct Pass {
        let variants: [Int], rows: [Int], positions: Range<Int>

        /// Consecutive rows of one variant: the variant and its rows, in order.
        var runs: [(variant: Int, rows: [Int])] {
            var result: [(variant: Int, rows: [Int])] = []
            for (variant, row) in zip(variants, rows) {
                if result.last?.variant == variant { result[result.count - 1].rows.append(row) } else { result.append((variant, [row])) }
            }
            return result
        }
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
        keyValues = model.keyValueCache(of: batch)
        readLogits = model.unembed(runs.residuals[model.layerCount].gather(positions: batch.lastPositions), hooks: nil)
            .reshaped([batch.batchSize, -1])
    }

    /// The change of a patch whose effect on the patched activation is nonzero at `changed[row][position]`.
    func change(nonzeroAt changed: (_ row: Int, _ position: Int) -> Bool) -> Change {
        var rows: [Int] = [], starts: [Int] = []
        for (row, read) in runs.batch.lastPositions.enumerated() {
            guard let first = (0...read).first(where: { changed(row, $0) }) else { continue }
            rows.append(row)
            starts.append(first)
        }
        return Change(rows: rows, starts: starts)
    }

    /// The metric of each patched run, patched in block `layer` by the hooks `hooks(pass)` returns for one pass.
    ///
    /// The changes are taken a group at a time (at most four passes' worth of rows, bounding the logits held);
    /// a group's rows are sorted by first changed position, then read position, and cut into passes of one first
    /// position and at most ``PatchedRuns/maxRowsPerPass`` rows.
    func metrics(_ changes: [Change], layer: Int, hooks: (Pass) -> ForwardHooks) -> [Float] {
        let unpatched = runs.metric(readLogits).item, read = runs.batch.lastPositions
        var results = [Float](repeating: unpatched, count: changes.count)
        let changing = changes.indices.filter { !changes[$0].rows.isEmpty }
        var next = 0
        while next < changing.count {
            var group: [Int] = [], rowCount = 0
            while next < changing.count, group.isEmpty || rowCount + changes[changing[next]].rows.count <= 4 * runs.maxRowsPerPass {
                group.append(changing[next])
                rowCount += changes[changing[next]].rows.count
                next += 1
            }
            let items = group.flatMap { v in zip(changes[v].rows, changes[v].starts).map { (variant: v, row: $0, start: $1) } }
                .sorted { ($0.start, read[$0.row], $0.variant, $0.row) < ($1.start, read[$1.row], $1.variant, $1.row) }
            // Per variant of the group: its rows' logits (the columns the metric reads), by example.
            var computed: [Int: [Int: ArraySlice<Float>]] = [:]
            var columns: [Int]?
            var first = 0
            while first < items.count {
                var end = first + 1
                while end < items.count, items[end].start == items[first].start, end - first < runs.maxRowsPerPass { end += 1 }
                let pass = items[first..<end]
                let (passColumns, logits) = self.logits(of: Array(pass), layer: layer, hooks: hooks)
                columns = passColumns
                let width = logits.shape[1], values = logits.scalars
                for (i, item) in pass.enumerated() { computed[item.variant, default: [:]][item.row] = values[(i * width)..<((i + 1) * width)] }
                first = end
            }
            for v in group { results[v] = metric(replacing: computed[v]!, columns: columns) }
        }
        return results
    }

    /// One pass: the read logits `[rows, columns]` of `items` (same start), as ``logitsAtRead(_:)`` gives them.
    private func logits(of items: [(variant: Int, row: Int, start: Int)], layer: Int,
                        hooks: (Pass) -> ForwardHooks) -> (columns: [Int]?, logits: Tensor) {
        let model = runs.model, batch = runs.batch, read = batch.lastPositions
        let rows = items.map(\.row), start = items[0].start
        let positions = start..<(rows.map { read[$0] }.max()! + 1)
        let later = TokenBatch(tokens: rows.map { Array(batch.tokens[$0][positions]) }, mask: rows.map { Array(batch.mask[$0][positions]) })
        let prefix = start > 0 ? keyValues.prefix(rows: rows, length: start, fromLayer: layer) : nil
        // A row's positions after its read position are padding: their products are skipped (see runBlocks below).
        let context = AttentionContext(batch: later, pastMask: prefix?.mask, pastPositions: prefix?.nextPositions).skippingPaddingProducts()
        let residual = runs.residuals[layer].indexSelect(axis: 0, rows).slice(axis: 1, positions)
        let passHooks = hooks(Pass(variants: items.map(\.variant), rows: rows, positions: positions))
        let last = model.layerCount - 1, readPositions = rows.map { read[$0] - start }
        let beforeLast = model.runBlocks(layer..<last, residual: residual, context: context, hooks: passHooks, cache: prefix)
        // The last block's output is read at the read positions only.
        let lastContext = context.readingOutputs(atRows: readPositions.enumerated().map { $0.offset * positions.count + $0.element })
        let final = model.runBlocks(last..<model.layerCount, residual: beforeLast, context: lastContext, hooks: passHooks, cache: prefix)
        return logitsAtRead(final.gather(positions: readPositions))
    }

    /// The metric of the cached run's read logits with the rows of `computed` (by example: the logits of
    /// `columns`, or every logit when nil) replaced; the metric reads no other logit of those rows.
    private func metric(replacing computed: [Int: ArraySlice<Float>], columns: [Int]?) -> Float {
        var scalars = readLogits.scalars
        let vocabulary = readLogits.shape[1]
        scalars.withUnsafeMutableBufferPointer { out in
            for (row, values) in computed {
                let target = out.baseAddress! + row * vocabulary
                if let columns {
                    for (column, value) in zip(columns, values) { target[column] = value }
                } else {
                    for (j, value) in values.enumerated() { target[j] = value }
                }
            }
        }
        return runs.metric(Tensor(shape: readLogits.shape, scalars: scalars)).item
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
