extension TransformerModel {
    /// The keys and values of a forward pass over `batch` (no logits computed): what a pass over tokens that
    /// follow `batch` attends to.
    public func keyValueCache(of batch: TokenBatch) -> KeyValueCache {
        let cache = KeyValueCache(layerCount: layerCount)
        _ = forward(batch, cache: cache, logitPositions: .none)
        return cache
    }
}

extension KeyValueCache {
    /// The cache of the first `length` positions of the sequences `rows` (in that order, repeats allowed), holding
    /// the layers from `firstLayer` on (earlier layers empty): what a pass that resumes at token `length` of some
    /// of the cached sequences, from block `firstLayer`, attends to.
    ///
    /// A key or value at position `j` depends only on tokens up to `j`, so the prefix of a cache of whole
    /// sequences is the cache of their prefixes.
    public func prefix(rows: [Int], length: Int, fromLayer firstLayer: Int = 0) -> KeyValueCache {
        guard let mask else { preconditionFailure("the prefix of an empty key-value cache") }
        precondition(!rows.isEmpty && length > 0 && length <= self.length,
                     "a prefix needs some rows and a length in 1...\(self.length), got \(rows.count) rows of \(length)")
        let copy = KeyValueCache(layerCount: layers.count)
        for layer in firstLayer..<layers.count {
            guard let keys = layers[layer]?.keys, let values = layers[layer]?.values else { continue }
            var part = LayerKeyValueCache()
            _ = part.append(keys: keys.indexSelect(axis: 0, rows).slice(axis: 2, 0..<length),
                            values: values.indexSelect(axis: 0, rows).slice(axis: 2, 0..<length))
            copy.layers[layer] = part
        }
        let prefixMask = rows.map { Array(mask[$0][..<length]) }
        let batch = TokenBatch(tokens: prefixMask.map { [Int](repeating: 0, count: $0.count) }, mask: prefixMask)
        copy.commit(AttentionContext(batch: batch), batch: batch)
        return copy
    }
}
