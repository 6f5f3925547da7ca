import Circuits

/// The receiver side of a literal edge-patched forward pass, shared by the tests that check edge patching
/// against one: hooks that change each receiver's input (every head's split q/k/v input, each MLP input and
/// the final residual) by `patched`, which adds, per patched edge into the receiver, the sender's corrupted
/// output minus its output in this pass. How a sender's current output is read differs per block kind, so the
/// caller records those.
enum LiteralEdgePatching {
    typealias Receiver = ComputationGraph.Receiver

    static func addReceiverPatches(to hooks: ForwardHooks, layers: Int,
                                   _ patched: @escaping (Receiver, Tensor) -> Tensor) {
        for l in 0..<layers {
            let slots: [(HookPoint, (Int) -> Receiver)] = [
                (.qInput(l), { .query(layer: l, head: $0) }), (.kInput(l), { .key(layer: l, group: $0) }),
                (.vInput(l), { .value(layer: l, group: $0) }),
            ]
            for (point, receiver) in slots {
                hooks.add(point) { x, _ in
                    Tensor.stack((0..<x.shape[2]).map { patched(receiver($0), x.select(axis: 2, $0)) }, axis: 2)
                }
            }
            hooks.add(.mlpIn(l)) { x, _ in patched(.mlp(layer: l), x) }
        }
        hooks.add(.residPost(layers - 1)) { x, _ in patched(.logits, x) }
    }
}
