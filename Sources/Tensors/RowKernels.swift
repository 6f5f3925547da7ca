/// Glue between tensors and the C kernels, which read and write raw float buffers.
extension Tensor {
    /// A tensor of this shape written by `kernel` from this tensor's scalars (no gradient recording).
    func computed(_ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        guard count > 0 else { return detached }
        return Tensor.build(shape: shape) { out in
            scalars.withUnsafeBufferPointer { x in kernel(x.baseAddress!, out.baseAddress!) }
        }
    }

    /// A tensor of this shape written by `kernel` from this tensor's and `other`'s scalars (no recording).
    func computed(with other: Tensor,
                  _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        precondition(count == other.count, "kernel operands differ in size: \(shape) vs \(other.shape)")
        guard count > 0 else { return detached }
        return Tensor.build(shape: shape) { out in
            scalars.withUnsafeBufferPointer { a in
                other.scalars.withUnsafeBufferPointer { b in kernel(a.baseAddress!, b.baseAddress!, out.baseAddress!) }
            }
        }
    }

    /// The number of rows and their length when the last axis is viewed as rows.
    var lastAxisRows: (rows: Int, length: Int) {
        precondition(rank >= 1, "row operation needs rank >= 1, shape is \(shape)")
        let length = shape[rank - 1]
        return (length == 0 ? 0 : count / length, length)
    }

    /// Applies an operation defined on the last axis along `axis`, by moving that axis last and back.
    func alongLastAxis(_ axis: Int, _ operation: (Tensor) -> Tensor) -> Tensor {
        let a = self.axis(axis)
        if a == rank - 1 { return operation(self) }
        return operation(transposed(a, -1)).transposed(a, -1)
    }
}

/// Runs `body` with a pointer to the scalars of `tensor`, or with nil when there is no tensor.
func withScalarsIfPresent<Result>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> Result) -> Result {
    guard let tensor else { return body(nil) }
    return tensor.scalars.withUnsafeBufferPointer { body($0.baseAddress) }
}
