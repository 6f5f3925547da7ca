import Testing
import Tensors

/// `+=` writes into its left operand's storage but keeps value semantics and the values and gradients of `+`.
@Suite struct InPlaceAdditionTests {
    @Test func equalsPlusForSameShapesBiasesAndScalars() {
        let x = Tensor.random([3, 5, 7], seed: 1)
        for other in [Tensor.random([3, 5, 7], seed: 2), Tensor.random([7], seed: 3), Tensor.random([5, 7], seed: 4),
                      Tensor(2.5), Tensor.random([3, 1, 7], seed: 5)] {
            var sum = x
            sum += other
            #expect(sum.scalars == (x + other).scalars)
            #expect(sum.shape == (x + other).shape)
        }
    }

    @Test func sharedStorageIsNotChanged() {
        let x = Tensor.random([4, 6], seed: 6)
        var y = x
        y += Tensor.ones([6])
        #expect(x.scalars == Tensor.random([4, 6], seed: 6).scalars)
        var z = x
        z += z
        #expect(z.scalars == (x + x).scalars)
    }

    @Test func recordedSumsKeepTheirGradient() {
        let x = Tensor.random([2, 3], seed: 7), bias = Tensor.random([3], seed: 8)
        let gradients = withGradients { tape in
            let (xw, bw) = (tape.watch(x), tape.watch(bias))
            var y = xw
            y += bw
            let loss = (y * y).sum()
            return [tape.gradient(of: loss, withRespectTo: xw), tape.gradient(of: loss, withRespectTo: bw)]
        }
        let expected = (x + bias) * 2
        #expect(gradients[0].scalars == expected.scalars)
        #expect(gradients[1].scalars == expected.sum(axis: 0).scalars)
    }
}
