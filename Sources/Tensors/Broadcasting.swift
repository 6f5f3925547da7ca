/// NumPy-style broadcasting of shapes.
enum Broadcast {
    /// The broadcast shape of two shapes, aligned at their trailing axes.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) do not broadcast")
            result[i] = da == 1 ? db : da
        }
        return result
    }

    /// Strides that read a tensor of shape `shape` as if it had shape `target` (0 on broadcast axes).
    static func strides(of shape: [Int], in target: [Int]) -> [Int] {
        let own = Tensor.strides(for: shape)
        let offset = target.count - shape.count
        return target.indices.map { i in
            i < offset || shape[i - offset] == 1 ? 0 : own[i - offset]
        }
    }
}

extension Tensor {
    /// Sums this tensor down to `target`, a shape it was broadcast from.
    public func sum(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        var result = self
        let offset = rank - target.count
        precondition(offset >= 0, "cannot sum shape \(shape) to \(target)")
        for _ in 0..<offset { result = result.sum(axis: 0) }
        for axis in target.indices where target[axis] == 1 && result.shape[axis] != 1 {
            result = result.sum(axis: axis, keepingDimension: true)
        }
        return result.reshaped(target)
    }

    /// Applies `op` elementwise to two tensors broadcast against each other (no gradient recording).
    func zipped(with other: Tensor, _ op: (Float, Float) -> Float) -> Tensor {
        if shape == other.shape {
            return Tensor.build(shape: shape) { out in
                scalars.withUnsafeBufferPointer { a in
                    other.scalars.withUnsafeBufferPointer { b in
                        for i in 0..<out.count { out[i] = op(a[i], b[i]) }
                    }
                }
            }
        }
        let outShape = Broadcast.shape(shape, other.shape)
        // Fast path: `other` broadcasts along leading axes only (a row vector, a bias, a scalar).
        if other.count > 0, outShape == shape, shape.suffix(other.rank) == other.shape[...] || other.count == 1 {
            let inner = other.count
            return Tensor.build(shape: outShape) { out in
                scalars.withUnsafeBufferPointer { a in
                    other.scalars.withUnsafeBufferPointer { b in
                        var i = 0
                        while i < out.count {
                            for j in 0..<inner { out[i + j] = op(a[i + j], b[j]) }
                            i += inner
                        }
                    }
                }
            }
        }
        // Fast path: `other` is constant along trailing axes (a per-row statistic such as `[rows, 1]`).
        let varying = (other.shape.lastIndex { $0 != 1 } ?? -1) + 1
        if other.count > 0, outShape == shape, other.rank == rank, other.shape[..<varying] == shape[..<varying] {
            let run = count / other.count
            return Tensor.build(shape: outShape) { out in
                scalars.withUnsafeBufferPointer { a in
                    other.scalars.withUnsafeBufferPointer { b in
                        for j in 0..<b.count {
                            let value = b[j]
                            for i in (j * run)..<((j + 1) * run) { out[i] = op(a[i], value) }
                        }
                    }
                }
            }
        }
        // General case (for example an attention mask [batch, 1, q, k] added to scores [batch, heads, q, k]): one
        // run along the last axis at a time, its operands `aStep` and `bStep` apart.
        let aStrides = Broadcast.strides(of: shape, in: outShape)
        let bStrides = Broadcast.strides(of: other.shape, in: outShape)
        let last = outShape.count - 1
        let length = last >= 0 ? outShape[last] : 1
        let aStep = last >= 0 ? aStrides[last] : 0, bStep = last >= 0 ? bStrides[last] : 0
        return Tensor.build(shape: outShape) { out in
            guard length > 0 else { return }
            scalars.withUnsafeBufferPointer { a in
                other.scalars.withUnsafeBufferPointer { b in
                    for row in 0..<(out.count / length) {
                        var rest = row, ia = 0, ib = 0
                        for axis in stride(from: last - 1, through: 0, by: -1) {
                            let index = rest % outShape[axis]
                            rest /= outShape[axis]
                            ia += index * aStrides[axis]
                            ib += index * bStrides[axis]
                        }
                        let base = row * length
                        for j in 0..<length { out[base + j] = op(a[ia + j * aStep], b[ib + j * bStep]) }
                    }
                }
            }
        }
    }

    /// Applies `op` to every element (no gradient recording).
    func mapped(_ op: (Float) -> Float) -> Tensor {
        Tensor.build(shape: shape) { out in
            scalars.withUnsafeBufferPointer { a in
                for i in 0..<out.count { out[i] = op(a[i]) }
            }
        }
    }
}
