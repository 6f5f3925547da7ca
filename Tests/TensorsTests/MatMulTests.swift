import Testing
import Tensors

@Suite struct MatMulTests {
    /// `a · b` of rank-2 tensors by the definition, in double precision.
    static func reference(_ a: Tensor, _ b: Tensor) -> Tensor {
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for l in 0..<k { sum += Double(a[i, l]) * Double(b[l, j]) }
                out[i * n + j] = Float(sum)
            }
        }
        return Tensor(shape: [m, n], scalars: out)
    }

    @Test func transposesMatchTheDefinition() {
        var values = TestValues(seed: 1)
        let a = values.tensor([5, 7]), b = values.tensor([7, 3])
        let expected = Self.reference(a, b)
        let at = a.transposed(), bt = b.transposed()
        #expect(a.matmul(b).maxAbsDifference(expected) < 1e-5)
        #expect(at.matmul(b, transposeSelf: true).maxAbsDifference(expected) < 1e-5)
        #expect(a.matmul(bt, transposeOther: true).maxAbsDifference(expected) < 1e-5)
        #expect(at.matmul(bt, transposeSelf: true, transposeOther: true).maxAbsDifference(expected) < 1e-5)
    }

    /// Group g of `groupedMatmul` is `x[..., g, :] · W_gᵀ` with W_g the g-th block of rows or of columns.
    @Test func groupedMatmulUsesEachGroupsBlock() {
        var values = TestValues(seed: 3)
        let x = values.tensor([2, 3, 4, 5])                       // [batch, pos, groups, k]
        let rowsWeight = values.tensor([4 * 2, 5]), columnsWeight = values.tensor([6, 4 * 5])
        let byRows = x.groupedMatmul(rowsWeight, blocks: .rows), byColumns = x.groupedMatmul(columnsWeight, blocks: .columns)
        #expect(byRows.shape == [2, 3, 4, 2] && byColumns.shape == [2, 3, 4, 6])
        let rows = x.reshaped([6, 4, 5])
        for g in 0..<4 {
            let input = rows.select(axis: 1, g)                   // [6, 5]
            let rowBlock = rowsWeight.slice(axis: 0, (g * 2)..<(g * 2 + 2)).transposed()
            let columnBlock = columnsWeight.slice(axis: 1, (g * 5)..<(g * 5 + 5)).transposed()
            #expect(byRows.reshaped([6, 4, 2]).select(axis: 1, g).maxAbsDifference(Self.reference(input, rowBlock)) < 1e-5)
            #expect(byColumns.reshaped([6, 4, 6]).select(axis: 1, g).maxAbsDifference(Self.reference(input, columnBlock)) < 1e-5)
        }
    }

    @Test func batchAxesBroadcast() {
        var values = TestValues(seed: 2)
        let a = values.tensor([2, 1, 3, 4]), b = values.tensor([5, 4, 2])
        let product = a.matmul(b)
        #expect(product.shape == [2, 5, 3, 2])
        for i in 0..<2 {
            for j in 0..<5 {
                let expected = Self.reference(a.select(axis: 0, i).select(axis: 0, 0), b.select(axis: 0, j))
                #expect(product.select(axis: 0, i).select(axis: 0, j).maxAbsDifference(expected) < 1e-5)
            }
        }
        // Transposed batched operands, and a shared weight matrix stacked into one product.
        let at = values.tensor([3, 4, 6]), bt = values.tensor([3, 5, 4])
        let batched = at.matmul(bt, transposeSelf: true, transposeOther: true)
        let shared = at.matmul(b.select(axis: 0, 1), transposeSelf: true)
        for i in 0..<3 {
            let left = at.select(axis: 0, i).transposed()
            let expected = Self.reference(left, bt.select(axis: 0, i).transposed())
            #expect(batched.select(axis: 0, i).maxAbsDifference(expected) < 1e-5)
            #expect(shared.select(axis: 0, i).maxAbsDifference(Self.reference(left, b.select(axis: 0, 1))) < 1e-5)
        }
    }

    @Test func stackedWeightProductMatchesPerMatrixProducts() {
        var values = TestValues(seed: 3)
        let x = values.tensor([2, 3, 4]), w = values.tensor([4, 5])
        let product = x.matmul(w)
        #expect(product.shape == [2, 3, 5])
        for i in 0..<2 {
            #expect(product.select(axis: 0, i).maxAbsDifference(Self.reference(x.select(axis: 0, i), w)) < 1e-5)
        }
    }

    @Test func emptyInnerDimensionGivesZeros() {
        let product = Tensor.zeros([3, 0]).matmul(Tensor.zeros([0, 2]))
        #expect(product == Tensor.zeros([3, 2]))
    }

    /// Gradients of `sum(weights * x.matmul(y))` against central finite differences.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gradientsMatchFiniteDifferences(transposeSelf: Bool, transposeOther: Bool) {
        var values = TestValues(seed: 4)
        let shapes: [([Int], [Int])] = [([3, 4], [4, 5]), ([2, 3, 4], [4, 5]), ([2, 1, 3, 4], [3, 4, 5])]
        for (xShape, yShape) in shapes {
            var xs = xShape, ys = yShape
            if transposeSelf { xs.swapAt(xs.count - 1, xs.count - 2) }
            if transposeOther { ys.swapAt(ys.count - 1, ys.count - 2) }
            let x = values.tensor(xs), y = values.tensor(ys)
            let weights = values.tensor(x.matmul(y, transposeSelf: transposeSelf, transposeOther: transposeOther).shape)
            func loss(_ x: Tensor, _ y: Tensor) -> Tensor {
                (x.matmul(y, transposeSelf: transposeSelf, transposeOther: transposeOther) * weights).sum()
            }
            let (gx, gy) = withGradients { tape in
                let xw = tape.watch(x), yw = tape.watch(y)
                let grads = tape.gradients(of: loss(xw, yw), withRespectTo: [xw, yw])
                return (grads[0], grads[1])
            }
            #expect(gx.shape == x.shape && gy.shape == y.shape)
            let numericX = Self.finiteDifferences(at: x) { loss($0, y).item }
            let numericY = Self.finiteDifferences(at: y) { loss(x, $0).item }
            #expect(numericX.maxAbsDifference(gx) < 1e-3)
            #expect(numericY.maxAbsDifference(gy) < 1e-3)
        }
    }

    static func finiteDifferences(at point: Tensor, _ f: (Tensor) -> Float) -> Tensor {
        let step: Float = 1e-2
        var grad = [Float](repeating: 0, count: point.count)
        for i in 0..<point.count {
            var plus = point.scalars, minus = point.scalars
            plus[i] += step
            minus[i] -= step
            grad[i] = (f(Tensor(shape: point.shape, scalars: plus)) - f(Tensor(shape: point.shape, scalars: minus))) / (2 * step)
        }
        return Tensor(shape: point.shape, scalars: grad)
    }

    @Test func largeProductIsDeterministicAndIndependentOfThreadCount() {
        var values = TestValues(seed: 5)
        let a = values.tensor([200, 300]), b = values.tensor([300, 250])
        let first = a.matmul(b), second = a.matmul(b)
        #expect(first.scalars == second.scalars)
        let threads = Parallel.threadCount
        Parallel.threadCount = 1
        let serial = a.matmul(b)
        Parallel.threadCount = threads
        #expect(serial.scalars == first.scalars)
    }
}
