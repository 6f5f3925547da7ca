/// The mean cross-entropy of `logits` `[N, V]` against one target class per row.
///
/// ```swift
/// let loss = crossEntropy(logits: logits.reshaped([-1, vocab]), targets: nextTokens)
/// ```
public func crossEntropy(logits: Tensor, targets: [Int]) -> Tensor {
    precondition(logits.rank == 2 && logits.shape[0] == targets.count,
                 "cross-entropy needs logits [N, V] with N = \(targets.count) targets, got \(logits.shape)")
    let classes = logits.shape[1]
    for target in targets { precondition(target >= 0 && target < classes, "target \(target) out of range 0..<\(classes)") }
    let picked = targets.enumerated().map { row, target in row * classes + target }
    return -logits.logSoftmax(axis: -1).reshaped([-1]).indexSelect(axis: 0, picked).mean()
}
