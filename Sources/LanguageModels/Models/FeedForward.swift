/// The MLP of a block: `out(act(in(x)))` (GPT-2) or `down(act(gate(x)) * up(x))` (Llama family).
public struct FeedForward {
    /// GPT-2's `c_fc` or the Llama family's `up_proj`.
    public var input: Linear
    /// The Llama family's `gate_proj`; nil for an ungated MLP.
    public var gate: Linear?
    /// GPT-2's `c_proj` or the Llama family's `down_proj`.
    public var output: Linear
    public var activation: Activation

    public init(input: Linear, gate: Linear? = nil, output: Linear, activation: Activation) {
        self.input = input; self.gate = gate; self.output = output; self.activation = activation
    }

    /// Hook points as TransformerLens names them: `hook_pre` is the activation's input (the gate's output
    /// in a gated MLP), `hook_pre_linear` the up projection, `hook_post` what the output projection reads.
    public func callAsFunction(_ x: Tensor, hooks: ForwardHooks?, names: BlockHookNames) -> Tensor {
        gate == nil
            ? callAsFunction(x, hooks: hooks, gateName: names.mlpPre, inputName: names.mlpPre, postName: names.mlpPost)
            : callAsFunction(x, hooks: hooks, gateName: names.mlpPre, inputName: names.mlpPreLinear, postName: names.mlpPost)
    }

    /// The MLP with its hook points named: `gateName` the gate's output (gated MLPs only), `inputName` the input
    /// projection's output, `postName` what the output projection reads.
    func callAsFunction(_ x: Tensor, hooks: ForwardHooks?, gateName: String, inputName: String, postName: String) -> Tensor {
        let post: Tensor
        if let gate {
            let pre = hooks.apply(gateName, gate(x))
            let linear = hooks.apply(inputName, input(x))
            post = activation.gated(pre, linear)
        } else {
            post = activation(hooks.apply(inputName, input(x)))
        }
        return output(hooks.apply(postName, post))
    }
}

/// The nonlinearity of an MLP, as transformers' `ACT2FN` defines each name.
public enum Activation: String, Sendable, Codable, CaseIterable {
    /// Exact GELU (`gelu`, `gelu_python` in Hugging Face configs).
    case gelu
    /// GELU with the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`, `gelu_accurate`,
    /// `gelu_python_tanh`).
    case geluTanh
    /// `silu` / `swish`.
    case silu
    case relu
    /// `quick_gelu`: `x · sigmoid(1.702 x)`.
    case quickGELU
    /// `relu2`: `relu(x)²`.
    case reluSquared
    /// `relu6`: `min(max(x, 0), 6)`.
    case relu6
    /// `leaky_relu`: torch's default slope 0.01 below zero.
    case leakyReLU
    /// `gelu_10`: exact GELU clipped to [-10, 10].
    case gelu10
    case tanh
    case sigmoid
    /// `linear`: the identity.
    case identity

    /// Maps a Hugging Face `hidden_act` / `activation_function` value; nil when unsupported.
    public init?(huggingFaceName name: String) {
        switch name {
        case "gelu", "gelu_python": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_accurate", "gelu_python_tanh": self = .geluTanh
        case "silu", "swish": self = .silu
        case "relu": self = .relu
        case "quick_gelu": self = .quickGELU
        case "relu2": self = .reluSquared
        case "relu6": self = .relu6
        case "leaky_relu": self = .leakyReLU
        case "gelu_10": self = .gelu10
        case "tanh": self = .tanh
        case "sigmoid": self = .sigmoid
        case "linear": self = .identity
        default: return nil
        }
    }

    /// The `hidden_act` / `activation_function` value that selects this activation in transformers.
    public var huggingFaceName: String {
        switch self {
        case .gelu: return "gelu"
        case .geluTanh: return "gelu_new"
        case .silu: return "silu"
        case .relu: return "relu"
        case .quickGELU: return "quick_gelu"
        case .reluSquared: return "relu2"
        case .relu6: return "relu6"
        case .leakyReLU: return "leaky_relu"
        case .gelu10: return "gelu_10"
        case .tanh: return "tanh"
        case .sigmoid: return "sigmoid"
        case .identity: return "linear"
        }
    }

    /// `self(gate) * up`, a gated MLP's product, in one pass where a fused kernel exists.
    public func gated(_ gate: Tensor, _ up: Tensor) -> Tensor {
        switch self {
        case .silu: return gate.siluGated(up)
        case .gelu: return gate.geluGated(up, approximate: .none)
        case .geluTanh: return gate.geluGated(up, approximate: .tanh)
        default: return self(gate) * up
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .gelu: return x.gelu(approximate: .none)
        case .geluTanh: return x.gelu(approximate: .tanh)
        case .silu: return x.silu()
        case .relu: return x.relu()
        case .quickGELU: return x * (x * 1.702).sigmoid()
        case .reluSquared: return x.relu().squared()
        case .relu6: return x.clamped(min: 0, max: 6)
        case .leakyReLU: return x.relu() - (-x).relu() * 0.01
        case .gelu10: return x.gelu(approximate: .none).clamped(min: -10, max: 10)
        case .tanh: return x.tanh()
        case .sigmoid: return x.sigmoid()
        case .identity: return x
        }
    }
}
