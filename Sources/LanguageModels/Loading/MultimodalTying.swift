extension ModelConfiguration {
    /// This configuration with the tying transformers 5 gives a multimodal wrapper's language model loaded from
    /// `weights`: its `tie_word_embeddings` (the wrapper's, true by default for Mistral3ForConditionalGeneration)
    /// ties `lm_head` to the token embedding only when the checkpoint has no `lm_head` of its own (`from_pretrained`
    /// keeps both when both are present). Text-only configurations are returned as they are.
    public func resolvingTiedEmbeddings(_ weights: some WeightSource) -> ModelConfiguration {
        guard multimodalWrapper != nil, tiedEmbeddings,
              MultimodalLanguageModelWeights(weights).has("lm_head.weight") else { return self }
        var resolved = self
        resolved.tiedEmbeddings = false
        return resolved
    }
}
