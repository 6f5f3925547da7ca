import Testing
import Tensors

/// A tape and the activations it records are freed when the `withGradients` scope ends.
@Suite struct GradientTapeLifetimeTests {
    @Test func tapeIsFreedAfterItsScope() {
        weak var released: GradientTape?
        let gradient = withGradients { tape -> Tensor in
            released = tape
            let x = tape.watch(Tensor(shape: [3], scalars: [1, 2, 3]))
            let y = x * x + x.exp() * x      // closures of * capture tracked inputs, which refer to the tape
            return tape.gradient(of: y.sum(), withRespectTo: x)
        }
        #expect(gradient.count == 3)
        #expect(released == nil, "the tape (and every activation it recorded) must not outlive withGradients")
    }
}
