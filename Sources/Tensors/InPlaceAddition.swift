extension Tensor {
    /// `self = self + other` computed in this tensor's storage (copied first only when shared) when neither operand
    /// is recorded on a gradient tape and `other` has this shape or broadcasts along leading axes (a bias, a
    /// scalar); otherwise `self + other`. The values are those of `+` either way.
    mutating func add(inPlace other: Tensor) {
        guard Tensor.recordingTape([self, other]) == nil, other.count > 0, other.rank <= rank, count % other.count == 0,
              shape.suffix(other.rank).elementsEqual(other.shape) else {
            self = self + other
            return
        }
        tracking = nil
        let inner = other.count
        other.scalars.withUnsafeBufferPointer { b in
            scalars.withUnsafeMutableBufferPointer { a in
                var start = 0
                while start < a.count {
                    for j in 0..<inner { a[start + j] += b[j] }
                    start += inner
                }
            }
        }
    }
}
