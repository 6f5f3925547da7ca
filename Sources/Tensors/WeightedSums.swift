import CKernels

extension Tensor {
    /// `length` consecutive scalars of `tensor` starting at `offset`: one vector of a ``WeightedSums``.
    public struct VectorView {
        public let tensor: Tensor
        public let offset: Int

        public init(_ tensor: Tensor, offset: Int = 0) {
            self.tensor = tensor
            self.offset = offset
        }
    }

    /// Many weighted sums of the same vectors, read where they are (no stacked copy):
    /// `row[r] = Σ_i weight(i, r) · vector_i`, summed in the order the vectors were added.
    ///
    /// A vector with one weight for every row is summed once for all rows; any other costs one multiply-add
    /// per element and nonzero weight, so sparse weights are cheap. Results are not recorded on the
    /// gradient tape; work is split over ``Parallel``.
    ///
    /// ```swift
    /// // Per-head inputs [pos, heads, d] from a residual [pos, d] and sender outputs [pos, d]:
    /// var sums = Tensor.WeightedSums(rows: heads, length: pos * d)
    /// sums.add(.init(residual), weights: Array(repeating: 1, count: heads))
    /// for (s, output) in outputs.enumerated() { sums.add(.init(output), weights: mix[s]) }
    /// let inputs = sums.result(interleaving: d).reshaped([pos, heads, d])
    /// ```
    public struct WeightedSums {
        public let rows: Int
        public let length: Int
        private var shared: [VectorView] = [], sharedWeights: [Float] = []
        /// Per row, the vectors with a weight of their own.
        private var terms: [[(vector: VectorView, weight: Float)]]

        /// Empty sums (all zero) of `rows` rows of `length` scalars.
        public init(rows: Int, length: Int) {
            precondition(rows > 0 && length > 0, "weighted sums need rows and a length, got \(rows) x \(length)")
            self.rows = rows
            self.length = length
            terms = Array(repeating: [], count: rows)
        }

        /// Adds `vector` with one weight per row; zero weights cost nothing.
        public mutating func add(_ vector: VectorView, weights: [Float]) {
            precondition(weights.count == rows, "\(weights.count) weights for \(rows) rows")
            precondition(vector.offset >= 0 && vector.offset + length <= vector.tensor.count,
                         "vector of \(length) elements at offset \(vector.offset) is outside a tensor of \(vector.tensor.count)")
            if weights.allSatisfy({ $0 == 0 }) { return }
            if rows > 1 && weights.allSatisfy({ $0 == weights[0] }) {
                shared.append(vector)
                sharedWeights.append(weights[0])
            } else {
                for (r, w) in weights.enumerated() where w != 0 { terms[r].append((vector, w)) }
            }
        }

        /// Evaluates the sums so far and continues from them, so the vectors added so far can be released (a caller
        /// that computes its vectors in groups holds one group at a time).
        public mutating func fold() {
            let partial = result()
            self = WeightedSums(rows: rows, length: length)
            for r in 0..<rows { terms[r].append((VectorView(partial, offset: r * length), 1)) }
        }

        /// The sums, `[rows, length]`; with `interleaving: k` (a divisor of `length`) the rows are interleaved
        /// every `k` elements: `[length / k, rows, k]`.
        public func result(interleaving segment: Int? = nil) -> Tensor {
            let segment = segment ?? length
            precondition(segment > 0 && length % segment == 0, "interleaving \(segment) does not divide length \(length)")
            let interleaved = segment < length
            let termVectors = terms.flatMap { $0.map(\.vector) }, termWeights = terms.flatMap { $0.map(\.weight) }
            let rowStart = terms.reduce(into: [0]) { $0.append($0.last! + $1.count) }
            return Tensor.build(shape: interleaved ? [length / segment, rows, segment] : [rows, length]) { out in
                let vectors = shared + termVectors
                withBaseAddresses(vectors.map(\.tensor)) { addresses in
                    let starts = zip(addresses, vectors).map { $0 + $1.offset }
                    let sharedStarts = starts[..<shared.count], termStarts = starts[shared.count...]
                    // Threads take whole segments of an interleaved result, or column ranges of a plain one.
                    let units = interleaved ? length / segment : (length + 15) / 16
                    let unitSize = interleaved ? segment : 16
                    let parts = Swift.min(units, Parallel.threadCount)
                    Parallel.forEach(parts) { part in
                        let x = units * part / parts * unitSize
                        let end = Swift.min(length, units * (part + 1) / parts * unitSize)
                        let chunk = interleaved ? segment : end - x
                        nn_weighted_sums(sharedStarts.map { Optional($0 + x) }, sharedWeights, shared.count,
                                         termStarts.map { Optional($0 + x) }, termWeights, rowStart, rows, end - x,
                                         chunk, rows * segment, interleaved ? segment : length,
                                         out.baseAddress! + (interleaved ? x * rows : x))
                    }
                }
            }
        }
    }
}

/// Calls `body` with the base address of each tensor's scalars, valid for the duration of the call.
func withBaseAddresses<Result>(_ tensors: [Tensor], _ body: ([UnsafePointer<Float>]) -> Result) -> Result {
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
