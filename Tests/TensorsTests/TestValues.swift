import Tensors

/// Reproducible pseudo-random values in [-1, 1) for tests (a linear congruential generator).
struct TestValues {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    mutating func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(state >> 40) / Float(1 << 23) - 1
    }

    mutating func array(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }

    mutating func tensor(_ shape: [Int]) -> Tensor { Tensor(shape: shape, scalars: array(shape.reduce(1, *))) }
}
