/// Block-by-block progress of forward passes, for a front end that shows long passes (a Llama-3.1-8B pass over a
/// few prompts takes seconds): ``TransformerModel/runBlocks(_:residual:context:hooks:cache:)`` reports `(0, n)`
/// before its first block and `(k, n)` after its k-th.
///
/// ```swift
/// ForwardProgress.reporter = { done, total in print("block \(done)/\(total)") }
/// ```
public enum ForwardProgress {
    /// Called with (blocks done, blocks in the pass); nil (the default) for none. Set it before running models.
    nonisolated(unsafe) public static var reporter: ((_ done: Int, _ total: Int) -> Void)?
}
