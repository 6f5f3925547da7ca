import Tensors

/// Activations watched on a gradient tape during a forward pass, to take gradients with respect to them.
///
/// Each named hook point's activation is replaced by its watched copy, which is kept here by name.
///
/// ```swift
/// withGradients { tape in
///     let hooks = ForwardHooks()
///     let watched = WatchedActivations([HookPoint.residPre(3).name], hooks: hooks, tape: tape)
///     let logits = model.forward(batch, hooks: hooks)
///     let gradients = watched.gradients(of: metric(logits), on: tape)   // by hook name
/// }
/// ```
public final class WatchedActivations {
    /// The hook names, in the order given.
    public let names: [String]
    /// The watched activations by hook name, recorded as the forward pass reaches them.
    public private(set) var activations: [String: Tensor] = [:]

    /// Watches the activations at `names` on `tape` whenever `hooks` runs.
    public init(_ names: [String], hooks: ForwardHooks, tape: GradientTape) {
        self.names = names
        for name in names {
            hooks.add(name) { activation, _ in
                let watched = tape.watch(activation)
                self.activations[name] = watched
                return watched
            }
        }
    }

    /// The gradients of `value` with respect to every watched activation the forward pass reached, by hook name.
    public func gradients(of value: Tensor, on tape: GradientTape) -> [String: Tensor] {
        let reached = names.filter { activations[$0] != nil }
        let gradients = tape.gradients(of: value, withRespectTo: reached.map { activations[$0]! })
        return Dictionary(uniqueKeysWithValues: zip(reached, gradients))
    }
}
