
/// The residual stream of one run, layer by layer, read from an ``ActivationCache``.
///
/// For every sequential pre-norm block the identity `residPost(l) == residPre(l) + attnContribution(l) +
/// mlpContribution(l)` holds exactly (up to float rounding), since the block adds its two writes.
///
/// ```swift
/// let (_, cache) = try model.runWithCache(batch)
/// let stream = ResidualStream(cache)
/// let added = try stream.layerContribution(5)      // [batch, pos, dModel]
/// ```
public struct ResidualStream {
    public let cache: ActivationCache

    public init(_ cache: ActivationCache) { self.cache = cache }

    /// The input of block `layer`.
    public func residPre(_ layer: Int) throws -> Tensor { try cache.activation("resid_pre", layer: layer) }
    /// What attention in block `layer` wrote.
    public func attnContribution(_ layer: Int) throws -> Tensor { try cache.activation("attn_out", layer: layer) }
    /// The stream after attention, before the MLP.
    public func residMid(_ layer: Int) throws -> Tensor { try cache.activation("resid_mid", layer: layer) }
    /// What the MLP in block `layer` wrote.
    public func mlpContribution(_ layer: Int) throws -> Tensor { try cache.activation("mlp_out", layer: layer) }
    /// The output of block `layer`.
    public func residPost(_ layer: Int) throws -> Tensor { try cache.activation("resid_post", layer: layer) }
    /// Everything block `layer` added: attention plus MLP.
    public func layerContribution(_ layer: Int) throws -> Tensor {
        try attnContribution(layer) + mlpContribution(layer)
    }
}
