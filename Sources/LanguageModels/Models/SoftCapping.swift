extension Tensor {
    /// Gemma-2's soft-capping, `cap · tanh(x / cap)`: close to `x` for `|x| ≪ cap`, bounded by `±cap`.
    ///
    /// Used on attention scores (``Attention/softcap``) and on the final logits
    /// (``TransformerModel/finalLogitSoftcap``); differentiable.
    public func softCapped(_ cap: Float) -> Tensor {
        (self / cap).tanh() * cap
    }
}
