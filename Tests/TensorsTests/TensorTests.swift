import Testing
import Tensors

@Suite struct TensorBasics {
    @Test func reshapeAndIndex() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(x[1, 2] == 6)
        #expect(x.reshaped([3, -1]).shape == [3, 2])
    }
}
