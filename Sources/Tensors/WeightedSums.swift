import CKernels

extension Tensor {
    /// One vector of a ``weightedSums(of:weights:rows:length:interleaving:adding:)`` call: `length` elements of
    /// `tensor`'s scalars starting at `offset`.
    public struct VectorView {
        public let tensor: Tensor
        public let offset: Int

        public init(_ tensor: Tensor, offset: Int = 0) {
            self.tensor = tensor
            self.offset = offset
        }
    }

    /// Many weighted sums of the same vectors, read in place (no stacking copy): row `r` of the result is
    /// `base[r] + shared + Σ_i weights[i * rows + r] · vectors[i]`, summed in the order of `vectors`.
    ///
    /// The result is `[rows, length]`, or with `interleaving: k` (a divisor of `length`) the rows are
    /// interleaved every `k` elements: `[length / k, rows, k]`. `base`, if given, has the result's element
    /// count; `shared`, if given, has `length` elements and is added to every row. Not recorded on the
    /// gradient tape. Work is split over ``Parallel`` by blocks of `k` elements.
    ///
    /// ```swift
    /// // Per-head inputs [pos, heads, d] from sender outputs [pos, d], mixed by a [senders, heads] matrix:
    /// let inputs = Tensor.weightedSums(of: outputs.map { .init($0) }, weights: mix, rows: heads,
    ///                                  length: pos * d, interleaving: d).reshaped([pos, heads, d])
    /// ```
    public static func weightedSums(of vectors: [VectorView], weights: [Float], rows: Int, length: Int,
                                    interleaving segment: Int? = nil, adding base: Tensor? = nil,
                                    addingToEveryRow shared: Tensor? = nil) -> Tensor {
        let segment = segment ?? length
        precondition(weights.count == vectors.count * rows, "weightedSums needs \(vectors.count) x \(rows) weights, got \(weights.count)")
        precondition(segment > 0 && length % segment == 0, "interleaving \(segment) does not divide length \(length)")
        precondition(base == nil || base!.count == rows * length, "base of \(base!.count) elements for a \(rows) x \(length) result")
        precondition(shared == nil || shared!.count == length, "shared row of \(shared!.count) elements for rows of \(length)")
        for v in vectors {
            precondition(v.offset >= 0 && v.offset + length <= v.tensor.count,
                         "vector of \(length) elements at offset \(v.offset) is outside a tensor of \(v.tensor.count)")
        }
        let shape = segment == length ? [rows, length] : [length / segment, rows, segment]
        guard rows > 0, length > 0 else { return Tensor.zeros(shape) }
        return Tensor.build(shape: shape) { out in
            withBaseAddresses(vectors.map(\.tensor)) { addresses in
                let starts = zip(addresses, vectors).map { $0 + $1.offset }
                withScalarsIfPresent(base) { base in
                    withScalarsIfPresent(shared) { shared in
                        let segments = length / segment
                        let parts = Swift.min(segments, Parallel.threadCount)
                        Parallel.forEach(parts) { part in
                            let first = segments * part / parts, end = segments * (part + 1) / parts
                            let x = first * segment, outOffset = x * rows
                            nn_weighted_sums(starts.map { Optional($0 + x) }, weights, vectors.count, rows,
                                             (end - first) * segment, segment, base.map { $0 + outOffset },
                                             shared.map { $0 + x }, out.baseAddress! + outOffset)
                        }
                    }
                }
            }
        }
    }
}

/// Calls `body` with the base address of each tensor's scalars, valid for the duration of the call.
private func withBaseAddresses<Result>(_ tensors: [Tensor], _ body: ([UnsafePointer<Float>]) -> Result) -> Result {
    var addresses: [UnsafePointer<Float>] = []
    addresses.reserveCapacity(tensors.count)
    func nest(_ index: Int) -> Result {
        guard index < tensors.count else { return body(addresses) }
        return tensors[index].scalars.withUnsafeBufferPointer { buffer in
            addresses.append(buffer.baseAddress!)
            return nest(index + 1)
        }
    }
    return nest(0)
}
