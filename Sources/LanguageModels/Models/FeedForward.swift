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
        let post: Tensor
        if let gate {
            let pre = hooks.apply(names.mlpPre, gate(x))
            let linear = hooks.apply(names.mlpPreLinear, input(x))
            post = activation(pre) * linear
        } else {
            post = activation(hooks.apply(names.mlpPre, input(x)))
        }
        return output(hooks.apply(names.mlpPost, post))
    }
}

/// The nonlinearity of an MLP.
public enum Activation: String, Sendable, Codable, CaseIterable {
    /// Exact GELU (`gelu` in Hugging Face configs).
    case gelu
    /// GELU with the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    case geluTanh
    /// `silu` / `swish`.
    case silu
    case relu

    /// Maps a Hugging Face `hidden_act` / `activation_function` value; nil when unsupported.
    public init?(huggingFaceName name: String) {
        switch name {
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "silu", "swish": self = .silu
        case "relu": self = .relu
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
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .gelu: return x.gelu(approximate: .none)
        case .geluTanh: return x.gelu(approximate: .tanh)
        case .silu: return x.silu()
        case .relu: return x.relu()
        }
    }
}
