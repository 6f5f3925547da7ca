import LanguageModels

extension Intervention {
    /// Activation addition (ActAdd; Turner et al. 2023, "Steering Language Models With Activation Engineering"):
    /// steer by `coefficient × (h(plus) − h(minus))`, the difference of one hook point's activations on a contrast
    /// pair of prompts, added at the front of every later run.
    ///
    /// As in the paper's code, the shorter prompt of the pair is right-padded with `padding` (its authors use the
    /// token of a single space) until both have the same length `n`; the difference at position `i < n` is added at
    /// absolute position `i` of the steered run (``Operation/addFromStart(_:)``), also to positions generated later.
    ///
    /// ```swift
    /// let love = try tokenizer.encode("Love"), hate = try tokenizer.encode("Hate")
    /// let steer = try Intervention.activationAddition(model: model, at: "blocks.6.hook_resid_pre",
    ///                                                 plus: love, minus: hate, padding: spaceToken, coefficient: 5)
    /// let (logits, _) = try model.run(batch, interventions: [steer])
    /// ```
    ///
    /// - Throws: ``ActivationAdditionError`` for an empty prompt or a hook point without a position axis after
    ///   the batch axis (attention patterns and scores); the hook name resolver's error for an unknown hook.
    public static func activationAddition(model: TransformerModel, at hook: String, plus: [Int], minus: [Int],
                                          padding: Int, coefficient: Float) throws -> Intervention {
        let name = try model.hookNameResolver.resolve(hook)
        guard HookPoint(name: name)?.layout.positionAxis ?? 1 == 1 else {
            throw ActivationAdditionError.noLeadingPositionAxis(hook: name)
        }
        guard !plus.isEmpty, !minus.isEmpty else { throw ActivationAdditionError.emptyPrompt }
        let length = Swift.max(plus.count, minus.count)
        let pair = [plus, minus].map { $0 + Array(repeating: padding, count: length - $0.count) }
        let (_, cache) = try model.runWithCache(TokenBatch(pair), filter: .names([name]))
        let activations = try cache.activation(name)
        let difference = (activations.select(axis: 0, 0) - activations.select(axis: 0, 1)) * coefficient
        return Intervention(at: name, .addFromStart(difference))
    }
}

/// A contrast pair or hook point activation addition cannot use.
public enum ActivationAdditionError: Error, CustomStringConvertible, Equatable {
    case emptyPrompt
    case noLeadingPositionAxis(hook: String)

    public var description: String {
        switch self {
        case .emptyPrompt:
            return "activation addition needs two non-empty prompts"
        case .noLeadingPositionAxis(let hook):
            return "activation addition adds per position, but '\(hook)' has no position axis after its batch axis"
        }
    }
}
