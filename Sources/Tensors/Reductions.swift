/// Reductions along an axis or over all elements.
extension Tensor {
    /// Views the tensor as `[outer, n, inner]` around `axis`.
    func split(around axis: Int) -> (outer: Int, n: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    func reducedShape(_ axis: Int, keeping: Bool) -> [Int] {
        var s = shape
        if keeping { s[axis] = 1 } else { s.remove(at: axis) }
        return s
    }

    /// Applies `combine` along `axis`, starting from `initial`, without recording.
    func fold(axis: Int, keepingDimension: Bool, initial: Float, _ combine: (Float, Float) -> Float) -> Tensor {
        let (outer, n, inner) = split(around: axis)
        return Tensor.build(shape: reducedShape(axis, keeping: keepingDimension)) { out in
            scalars.withUnsafeBufferPointer { src in
                for o in 0..<outer {
                    for i in 0..<inner { out[o * inner + i] = initial }
                    for k in 0..<n {
                        let row = (o * n + k) * inner
                        for i in 0..<inner { out[o * inner + i] = combine(out[o * inner + i], src[row + i]) }
                    }
                }
            }
        }
    }

    /// Sum along `axis`.
    public func sum(axis: Int, keepingDimension: Bool = false) -> Tensor {
        let a = self.axis(axis)
        let original = shape
        return fold(axis: a, keepingDimension: keepingDimension, initial: 0, +).recorded(from: [self]) { g in
            var kept = original
            kept[a] = 1
            return [g.reshaped(kept).broadcast(to: original)]
        }
    }

    /// Sum of all elements, as a rank-0 tensor.
    public func sum() -> Tensor {
        var total: Double = 0
        for x in scalars { total += Double(x) }
        let original = shape
        return Tensor(Float(total)).recorded(from: [self]) { g in [Tensor(repeating: g.item, shape: original)] }
    }

    /// Mean along `axis`.
    public func mean(axis: Int, keepingDimension: Bool = false) -> Tensor {
        sum(axis: axis, keepingDimension: keepingDimension) / Float(shape[self.axis(axis)])
    }

    /// Mean of all elements.
    public func mean() -> Tensor { sum() / Float(Swift.max(count, 1)) }

    /// Population variance along `axis` (divides by n, as LayerNorm does).
    public func variance(axis: Int, keepingDimension: Bool = false) -> Tensor {
        let centered = self - mean(axis: axis, keepingDimension: true)
        return centered.squared().mean(axis: axis, keepingDimension: keepingDimension)
    }

    /// Maximum along `axis`; the gradient flows to the first maximal element.
    public func max(axis: Int, keepingDimension: Bool = false) -> Tensor {
        let a = self.axis(axis)
        let indices = argmax(axis: a)
        let result = fold(axis: a, keepingDimension: keepingDimension, initial: -.infinity) { Swift.max($0, $1) }
        let original = shape
        return result.recorded(from: [self]) { g in
            let (outer, n, inner) = (original[..<a].reduce(1, *), original[a], original[(a + 1)...].reduce(1, *))
            var grad = [Float](repeating: 0, count: original.reduce(1, *))
            for o in 0..<outer {
                for i in 0..<inner {
                    grad[(o * n + indices[o * inner + i]) * inner + i] = g.scalars[o * inner + i]
                }
            }
            return [Tensor(shape: original, scalars: grad)]
        }
    }

    /// Minimum along `axis`.
    public func min(axis: Int, keepingDimension: Bool = false) -> Tensor {
        -(-self).max(axis: axis, keepingDimension: keepingDimension)
    }

    /// Index of the first maximum along `axis`, flattened over the other axes in row-major order.
    public func argmax(axis: Int) -> [Int] {
        let (outer, n, inner) = split(around: self.axis(axis))
        var result = [Int](repeating: 0, count: outer * inner)
        scalars.withUnsafeBufferPointer { src in
            for o in 0..<outer {
                for i in 0..<inner {
                    var best = 0
                    var bestValue = -Float.infinity
                    for k in 0..<n {
                        let v = src[(o * n + k) * inner + i]
                        if v > bestValue || (k == 0) { best = k; bestValue = v }
                    }
                    result[o * inner + i] = best
                }
            }
        }
        return result
    }

    /// Index of the largest element overall.
    public func argmax() -> Int { reshaped([-1]).argmax(axis: 0)[0] }

    /// The `k` largest entries along the last axis, largest first, with their indices.
    ///
    /// Ties keep the lower index first, as `torch.topk` does on CPU for distinct values.
    public func topK(_ k: Int) -> (values: Tensor, indices: [[Int]]) {
        let n = shape.last ?? 1
        precondition(k >= 0 && k <= n, "top-k of \(k) from an axis of size \(n)")
        let rows = count / Swift.max(n, 1)
        var values = [Float](), indices = [[Int]]()
        values.reserveCapacity(rows * k)
        for r in 0..<rows {
            let row = scalars[(r * n)..<((r + 1) * n)]
            let order = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(k)
            indices.append(order.map { $0 - r * n })
            values.append(contentsOf: order.map { row[$0] })
        }
        var outShape = shape
        if outShape.isEmpty { outShape = [k] } else { outShape[outShape.count - 1] = k }
        return (Tensor(shape: outShape, scalars: values), indices)
    }
}
