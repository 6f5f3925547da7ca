import Testing
import Tensors

@Suite struct TensorBasics {
    @Test func reshapeAndIndex() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(x[1, 2] == 6)
        #expect(x.reshaped([3, -1]).shape == [3, 2])
    }
}

@Suite struct GradientTapeMemoryTests {
    /// A tape scope must not outlive itself: its recorded graph forms reference cycles with the tensors.
    @Test func tapeIsReleasedWhenTheScopeEnds() {
        weak var released: GradientTape?
        do {
            let x = Tensor(shape: [3], scalars: [1, 2, 3])
            let grad = withGradients { tape -> Tensor in
                released = tape
                let w = tape.watch(x)
                return tape.gradient(of: (w * w).sum(), withRespectTo: w)
            }
            #expect(grad.scalars == [2, 4, 6])
        }
        #expect(released == nil)
    }
}
