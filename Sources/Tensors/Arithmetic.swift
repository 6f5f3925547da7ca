import CKernels
import RealModule

/// Broadcasting elementwise arithmetic, all differentiable.
extension Tensor {
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
        lhs.zipped(with: rhs, NN_ADD, +).recorded(from: [lhs, rhs]) { g in [g, g] }
    }

    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
        lhs.zipped(with: rhs, NN_SUBTRACT, -).recorded(from: [lhs, rhs]) { g in [g, -g] }
    }

    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor {
        lhs.zipped(with: rhs, NN_MULTIPLY, *).recorded(from: [lhs, rhs]) { g in [g * rhs.detached, g * lhs.detached] }
    }

    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor {
        lhs.zipped(with: rhs, NN_DIVIDE, /).recorded(from: [lhs, rhs]) { g in
            let r = rhs.detached
            return [g / r, -(g * lhs.detached) / (r * r)]
        }
    }

    public static prefix func - (x: Tensor) -> Tensor {
        x.mapped { -$0 }.recorded(from: [x]) { g in [-g] }
    }

    public static func + (lhs: Tensor, rhs: Float) -> Tensor {
        lhs.mapped { $0 + rhs }.recorded(from: [lhs]) { g in [g] }
    }

    public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs + (-rhs) }

    public static func * (lhs: Tensor, rhs: Float) -> Tensor {
        lhs.mapped { $0 * rhs }.recorded(from: [lhs]) { g in [g * rhs] }
    }

    public static func / (lhs: Tensor, rhs: Float) -> Tensor { lhs * (1 / rhs) }

    public static func + (lhs: Float, rhs: Tensor) -> Tensor { rhs + lhs }
    public static func - (lhs: Float, rhs: Tensor) -> Tensor { -rhs + lhs }
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs * lhs }

    public static func += (lhs: inout Tensor, rhs: Tensor) { lhs = lhs + rhs }
    public static func -= (lhs: inout Tensor, rhs: Tensor) { lhs = lhs - rhs }
    public static func *= (lhs: inout Tensor, rhs: Tensor) { lhs = lhs * rhs }

    /// e^x elementwise.
    public func exp() -> Tensor {
        let y = mapped { Float.exp($0) }
        return y.recorded(from: [self]) { g in [g * y.detached] }
    }

    /// Natural logarithm elementwise.
    public func log() -> Tensor {
        mapped { Float.log($0) }.recorded(from: [self]) { g in [g / self.detached] }
    }

    /// Square root elementwise.
    public func sqrt() -> Tensor {
        let y = mapped { $0.squareRoot() }
        return y.recorded(from: [self]) { g in [g / (y.detached * 2)] }
    }

    /// x² elementwise.
    public func squared() -> Tensor {
        mapped { $0 * $0 }.recorded(from: [self]) { g in [g * self.detached * 2] }
    }

    /// Hyperbolic tangent elementwise.
    public func tanh() -> Tensor {
        let y = mapped { Float.tanh($0) }
        return y.recorded(from: [self]) { g in [g * (1 - y.detached.squared())] }
    }

    /// |x| elementwise (gradient sign(x), 0 at 0).
    public func abs() -> Tensor {
        mapped { Swift.abs($0) }.recorded(from: [self]) { g in
            [g * self.detached.mapped { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }]
        }
    }

    /// xᵖ elementwise.
    public func pow(_ p: Float) -> Tensor {
        mapped { Float.pow($0, p) }.recorded(from: [self]) { g in
            [g * self.detached.mapped { p * Float.pow($0, p - 1) }]
        }
    }

    /// Values limited to `[lower, upper]`; the gradient flows where the input was inside the range.
    public func clamped(min lower: Float = -.infinity, max upper: Float = .infinity) -> Tensor {
        mapped { Swift.min(Swift.max($0, lower), upper) }.recorded(from: [self]) { g in
            [g * self.detached.mapped { $0 >= lower && $0 <= upper ? 1 : 0 }]
        }
    }

    /// Elementwise selection: `other` where `mask` is nonzero, `self` elsewhere (broadcasting).
    ///
    /// Infinite values are kept as they are (`scores.replacing(where: hidden, with: Tensor(-.infinity))`).
    public func replacing(where mask: Tensor, with other: Tensor) -> Tensor {
        let shape = Broadcast.shape(Broadcast.shape(self.shape, mask.shape), other.shape)
        let replace = mask.broadcast(to: shape).mapped { $0 != 0 ? 1 : 0 }.detached
        let kept = self.detached.broadcast(to: shape), replacement = other.detached.broadcast(to: shape)
        let result = Tensor.build(shape: shape) { out in
            for i in 0..<out.count { out[i] = replace.scalars[i] != 0 ? replacement.scalars[i] : kept.scalars[i] }
        }
        return result.recorded(from: [self, other]) { g in [g * (1 - replace), g * replace] }
    }
}
