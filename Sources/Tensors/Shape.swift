/// Shape manipulation: reshape, permute, slice, gather, concatenate. All differentiable.
extension Tensor {
    /// The same scalars with a new shape; one dimension may be -1 and is inferred.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[hole] = count / known
        }
        precondition(target.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        let result = Tensor(shape: target, scalars: scalars)
        let original = shape
        return result.recorded(from: [self]) { g in [g.reshaped(original)] }
    }

    /// Inserts an axis of size 1 at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        var s = shape
        s.insert(1, at: axis < 0 ? axis + rank + 1 : axis)
        return reshaped(s)
    }

    /// Removes an axis of size 1.
    public func squeezed(_ axis: Int) -> Tensor {
        let a = self.axis(axis)
        precondition(shape[a] == 1, "cannot squeeze axis \(axis) of size \(shape[a])")
        var s = shape
        s.remove(at: a)
        return reshaped(s)
    }

    /// The axes reordered: result axis `i` is input axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        let order = order.map { axis($0) }
        precondition(order.count == rank && Set(order).count == rank, "\(order) is not a permutation of \(rank) axes")
        if order == Array(0..<rank) { return self }
        let outShape = order.map { shape[$0] }
        let inStrides = strides
        let readStrides = order.map { inStrides[$0] }
        let result = Tensor.build(shape: outShape) { out in
            scalars.withUnsafeBufferPointer { src in
                guard out.count > 0 else { return }
                // Walk the output in order; the innermost axis is a strided copy.
                let innerCount = outShape[rank - 1], innerStride = readStrides[rank - 1]
                var o = 0
                forEachOffset(shape: outShape.dropLast(), strides: readStrides.dropLast()) { base in
                    if innerStride == 1 {
                        (out.baseAddress! + o).update(from: src.baseAddress! + base, count: innerCount)
                        o += innerCount
                    } else {
                        var s = base
                        for _ in 0..<innerCount { out[o] = src[s]; o += 1; s += innerStride }
                    }
                }
            }
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return result.recorded(from: [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps two axes (the last two by default).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(axis(a), axis(b))
        return permuted(order)
    }

    /// The elements with index in `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = self.axis(axis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a], "slice \(range) out of bounds for axis \(axis) of size \(shape[a])")
        if range == 0..<shape[a] { return self }
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        outShape[a] = range.count
        let result = Tensor.build(shape: outShape) { out in
            scalars.withUnsafeBufferPointer { src in
                let block = range.count * inner
                for o in 0..<outer {
                    let from = src.baseAddress! + (o * shape[a] + range.lowerBound) * inner
                    (out.baseAddress! + o * block).update(from: from, count: block)
                }
            }
        }
        let original = shape
        return result.recorded(from: [self]) { g in
            var before = original, after = original
            before[a] = range.lowerBound
            after[a] = original[a] - range.upperBound
            return [Tensor.concatenate([Tensor.zeros(before), g, Tensor.zeros(after)], axis: a)]
        }
    }

    /// The element at `index` along `axis`, with that axis removed.
    public func select(axis: Int, _ index: Int) -> Tensor {
        let a = self.axis(axis)
        let i = index < 0 ? index + shape[a] : index
        return slice(axis: a, i..<(i + 1)).squeezed(a)
    }

    /// Gathers entries `indices` along `axis` (repeats allowed); the axis takes `indices.count` entries.
    public func indexSelect(axis: Int, _ indices: [Int]) -> Tensor {
        let a = self.axis(axis)
        let n = shape[a]
        for i in indices { precondition(i >= 0 && i < n, "index \(i) out of range for axis \(axis) of size \(n)") }
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        outShape[a] = indices.count
        let result = Tensor.build(shape: outShape) { out in
            scalars.withUnsafeBufferPointer { src in
                var dst = out.baseAddress!
                for o in 0..<outer {
                    for i in indices {
                        dst.update(from: src.baseAddress! + (o * n + i) * inner, count: inner)
                        dst += inner
                    }
                }
            }
        }
        let original = shape
        return result.recorded(from: [self]) { g in
            var grad = [Float](repeating: 0, count: original.reduce(1, *))
            g.scalars.withUnsafeBufferPointer { src in
                var s = 0
                for o in 0..<outer {
                    for i in indices {
                        let base = (o * n + i) * inner
                        for k in 0..<inner { grad[base + k] += src[s + k] }
                        s += inner
                    }
                }
            }
            return [Tensor(shape: original, scalars: grad)]
        }
    }

    /// The tensor stacked `times` times along the batch axis (axis 0): one copy per variant of a batched run.
    public func repeatedAlongBatch(_ times: Int) -> Tensor {
        times == 1 ? self : Tensor.concatenate(Array(repeating: self, count: times), axis: 0)
    }

    /// Joins tensors along an existing axis; all other axes must agree.
    public static func concatenate(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concatenate needs at least one tensor")
        let a = parts[0].axis(axis)
        for p in parts {
            precondition(p.rank == parts[0].rank && p.shape.enumerated().allSatisfy { $0.offset == a || $0.element == parts[0].shape[$0.offset] },
                         "cannot concatenate shapes \(parts.map(\.shape)) along axis \(axis)")
        }
        let outer = parts[0].shape[..<a].reduce(1, *)
        var outShape = parts[0].shape
        outShape[a] = parts.map { $0.shape[a] }.reduce(0, +)
        let blocks = parts.map { $0.count / Swift.max(outer, 1) }
        let result = Tensor.build(shape: outShape) { out in
            var dst = out.baseAddress!
            guard out.count > 0 else { return }
            let copied = parts.indices.filter { blocks[$0] > 0 }
            withBaseAddresses(copied.map { parts[$0] }) { sources in
                for o in 0..<outer {
                    for (source, p) in zip(sources, copied) {
                        dst.update(from: source + o * blocks[p], count: blocks[p])
                        dst += blocks[p]
                    }
                }
            }
        }
        let sizes = parts.map { $0.shape[a] }
        return result.recorded(from: parts) { g in
            var start = 0
            return sizes.map { size in
                defer { start += size }
                return g.slice(axis: a, start..<(start + size))
            }
        }
    }

    /// Stacks tensors of equal shape along a new axis.
    public static func stack(_ parts: [Tensor], axis: Int = 0) -> Tensor {
        concatenate(parts.map { $0.unsqueezed(axis) }, axis: axis)
    }

    /// This tensor broadcast to a larger shape (materialized).
    public func broadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        precondition(Broadcast.shape(shape, target) == target, "cannot broadcast \(shape) to \(target)")
        // Copy runs of contiguous elements: walk the target's outer axes, each broadcast axis repeating the
        // block below it (the tape sums the gradient back to this shape).
        let padded = [Int](repeating: 1, count: target.count - rank) + shape
        let inner = (0..<target.count).last { padded[$0] != target[$0] }.map { $0 + 1 } ?? 0
        let run = target[inner...].reduce(1, *)
        let sourceStrides = Broadcast.strides(of: shape, in: target)
        let result = Tensor.build(shape: target) { out in
            scalars.withUnsafeBufferPointer { src in
                guard out.count > 0 else { return }
                var to = out.baseAddress!
                forEachOffset(shape: target[..<inner], strides: sourceStrides[..<inner]) { from in
                    to.update(from: src.baseAddress! + from, count: run)
                    to += run
                }
            }
        }
        return result.recorded(from: [self]) { g in [g] }
    }
}

/// Calls `body` with the source offset of every index of `shape` in row-major order, where a step along axis
/// `a` moves `strides[a]` elements in the source (an odometer over the outer axes of a strided copy).
@inline(__always)
private func forEachOffset(shape: ArraySlice<Int>, strides: ArraySlice<Int>, _ body: (Int) -> Void) {
    let shape = Array(shape), strides = Array(strides)
    guard !shape.contains(0) else { return }
    var index = [Int](repeating: 0, count: shape.count)
    var offset = 0
    while true {
        body(offset)
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            offset += strides[axis]
            if index[axis] < shape[axis] { break }
            offset -= strides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
        if axis < 0 { return }
    }
}
