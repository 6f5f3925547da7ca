import Foundation

/// A dense, row-major array of `Float` values with a shape.
///
/// `Tensor` is a value type: copies share storage until one of them is mutated (copy-on-write,
/// inherited from `Array`). All operations return new tensors; nothing is mutated behind the caller's back.
///
/// ```swift
/// let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// let y = (x * 2).sum(axis: 1)   // [12, 30]
/// ```
///
/// A tensor produced while a ``GradientTape`` is recording, from inputs the tape watches, carries a link
/// to the tape so that gradients can flow back through it.
public struct Tensor {
    /// The extent of each axis, outermost first.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public internal(set) var scalars: [Float]
    /// The tape entry that produced this tensor, when it is tracked for gradients.
    var tracking: Tracking?

    /// Creates a tensor from its shape and row-major scalars.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A rank-0 tensor holding one value.
    public init(_ scalar: Float) {
        self.init(shape: [], scalars: [scalar])
    }

    /// A tensor of the given shape filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }

    /// A tensor of ones.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }

    /// `[0, 1, ..., count - 1]` as a rank-1 tensor.
    public static func arange(_ count: Int) -> Tensor {
        Tensor(shape: [count], scalars: (0..<count).map(Float.init))
    }

    /// Creates a tensor whose scalars are written by `body` into uninitialized storage.
    ///
    /// `body` must write every element.
    @inlinable
    public static func build(shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> Tensor {
        let count = shape.reduce(1, *)
        let scalars = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try body(buffer)
            initialized = count
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// The number of axes.
    public var rank: Int { shape.count }
    /// The number of elements.
    public var count: Int { scalars.count }

    /// Row-major strides, in elements.
    public var strides: [Int] { Tensor.strides(for: shape) }

    static func strides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in shape.indices.reversed() {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// The single value of a tensor with one element.
    public var item: Float {
        precondition(count == 1, "item needs a tensor with one element, shape is \(shape)")
        return scalars[0]
    }

    /// The element at a full index; negative indices count from the end.
    public subscript(_ indices: Int...) -> Float {
        precondition(indices.count == rank, "index \(indices) does not match rank \(rank)")
        var offset = 0
        for (axis, index) in indices.enumerated() {
            let i = index < 0 ? index + shape[axis] : index
            precondition(i >= 0 && i < shape[axis], "index \(index) out of range for axis \(axis) of size \(shape[axis])")
            offset = offset * shape[axis] + i
        }
        return scalars[offset]
    }

    /// Resolves a possibly negative axis against this tensor's rank.
    @inlinable
    public func axis(_ axis: Int) -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        precondition(resolved >= 0 && resolved < rank, "axis \(axis) out of range for rank \(rank)")
        return resolved
    }

    /// The same tensor with gradient tracking removed.
    public var detached: Tensor {
        var copy = self
        copy.tracking = nil
        return copy
    }

    /// Whether the tensor is tracked by a recording gradient tape.
    public var isTracked: Bool { tracking?.tape.isRecording == true }
}

extension Tensor: Equatable {
    /// Tensors are equal when shapes and scalars are equal; gradient tracking is ignored.
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape && lhs.scalars == rhs.scalars
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", ..." : "")])"
    }
}

extension Tensor {
    /// The largest absolute difference between two tensors of equal shape.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shapes differ: \(shape) vs \(other.shape)")
        var worst: Float = 0
        for i in 0..<count { worst = Swift.max(worst, Swift.abs(scalars[i] - other.scalars[i])) }
        return worst
    }
}
