/// Looks up rows of an embedding `table` `[vocab, dim]` for a batch of token ids: `[batch, pos, dim]`.
///
/// Differentiable with respect to the table (repeated ids accumulate their gradients).
///
/// ```swift
/// let x = embedding(table: wte, ids: [[15496, 995]])   // [1, 2, dModel]
/// ```
public func embedding(table: Tensor, ids: [[Int]]) -> Tensor {
    precondition(table.rank == 2, "embedding table must be [vocab, dim], got \(table.shape)")
    let length = ids.first?.count ?? 0
    precondition(ids.allSatisfy { $0.count == length }, "token id rows differ in length")
    return table.indexSelect(axis: 0, Array(ids.joined())).reshaped([ids.count, length, table.shape[1]])
}
