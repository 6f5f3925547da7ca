"""Reference values of interventions and activation addition (ActAdd), from transformers with torch hooks.

    python3 scripts/make_steering_references.py

Downloads nothing. Reads the tiny checkpoints of Tests/LanguageModelsTests/Fixtures/models/ (gpt2, llama_gqa) and the
embedded default model (Sources/InterpCLI/Resources/DefaultModel, with its tokenizer.json through `tokenizers`), and
writes Tests/InterpTests/Fixtures/steering.json:

- "activation_addition": per fixture model, ActAdd as Turner et al. define it and their code computes it: the
  shorter of the prompts `plus` / `minus` right-padded with `padding` to a common length n, the difference of the
  residual stream entering block `layer` (TransformerLens' blocks.L.hook_resid_pre) on the two, times
  `coefficient`, added at positions 0 ..< n of the steered prompt by a forward pre-hook on block `layer`: the logits
  at every position, and 4 greedily generated tokens (each step recomputes the whole sequence with the hook, so a
  generated token below position n gets its row too);
- "cli": the embedded model's last-position logits for `interp run --intervene ...` / `--steer ...` cases, each
  written as the command-line arguments and the logits transformers gives with the same change made by torch hooks:
  a head's attention output zeroed (the slice of the output projection's input), the residual after a block scaled
  at two positions, a vector added to the residual entering a block, and ActAdd of two texts.
"""

import json
import os

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = os.path.join(REPO, "Tests", "LanguageModelsTests", "Fixtures", "models")
EMBEDDED = os.path.join(REPO, "Sources", "InterpCLI", "Resources", "DefaultModel")
OUT = os.path.join(REPO, "Tests", "InterpTests", "Fixtures", "steering.json")

torch.set_grad_enabled(False)


def rounded(tensor):
    return [float(f"{v:.9g}") for v in tensor.flatten().tolist()]


def blocks(model):
    return model.transformer.h if hasattr(model, "transformer") else model.model.layers


def output_projection(model, layer):
    block = blocks(model)[layer]
    return block.attn.c_proj if hasattr(block, "attn") else block.self_attn.o_proj


def replacing_input(module, change):
    """A forward pre-hook on `module` that replaces its first input (positional or `hidden_states`) by change(x)."""
    def hook(_, args, kwargs):
        if args:
            return (change(args[0]),) + tuple(args[1:]), kwargs
        kwargs["hidden_states"] = change(kwargs["hidden_states"])
        return args, kwargs
    return module.register_forward_pre_hook(hook, with_kwargs=True)


def replacing_output(module, change):
    def hook(_, __, output):
        if isinstance(output, tuple):
            return (change(output[0]),) + tuple(output[1:])
        return change(output)
    return module.register_forward_hook(hook)


def residual_entering(model, layer, tokens):
    captured = {}
    def keep(x):
        captured["x"] = x.clone()
        return x
    handle = replacing_input(blocks(model)[layer], keep)
    model(torch.tensor(tokens))
    handle.remove()
    return captured["x"]


def activation_addition(model, layer, plus, minus, padding, coefficient):
    """The hook adding ActAdd's rows at the front of a run, and the [n, d] difference."""
    n = max(len(plus), len(minus))
    pair = [p + [padding] * (n - len(p)) for p in (plus, minus)]
    resid = residual_entering(model, layer, pair)
    difference = coefficient * (resid[0] - resid[1])

    def add(x):
        count = min(n, x.shape[1])
        x = x.clone()
        x[:, :count] += difference[:count]
        return x
    return replacing_input(blocks(model)[layer], add), difference


def greedy(model, prompt, steps):
    tokens = list(prompt)
    for _ in range(steps):
        logits = model(torch.tensor([tokens])).logits
        tokens.append(int(logits[0, -1].argmax()))
    return tokens[len(prompt):]


def fixture_case(name, layer, plus, minus, padding, coefficient, prompt):
    model = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, name), dtype=torch.float32).eval()
    handle, difference = activation_addition(model, layer, plus, minus, padding, coefficient)
    logits = model(torch.tensor([prompt])).logits[0]
    generated = greedy(model, prompt, 4)
    handle.remove()
    return {"model": name, "layer": layer, "plus": plus, "minus": minus, "padding": padding,
            "coefficient": coefficient, "prompt": prompt, "difference_shape": list(difference.shape),
            "logits_shape": list(logits.shape), "logits": rounded(logits), "generated": generated}


def cli_cases():
    model = AutoModelForCausalLM.from_pretrained(EMBEDDED, dtype=torch.float32).eval()
    tokenizer = Tokenizer.from_file(os.path.join(EMBEDDED, "tokenizer.json"))
    prompt = "Alice and Bob went to the market . Bob gave a book to"
    ids = tokenizer.encode(prompt).ids
    heads, d_model = model.config.n_head, model.config.n_embd
    d_head = d_model // heads
    vector = [((i * 37) % 11 - 5) / 10 for i in range(d_model)]
    cases = []

    def last_logits():
        return rounded(model(torch.tensor([ids])).logits[0, -1])

    def zero_head(x):
        x = x.clone()
        x[..., 2 * d_head:3 * d_head] = 0
        return x
    handle = replacing_input(output_projection(model, 1), zero_head)
    cases.append({"arguments": ["--intervene", "blocks.1.attn.hook_z[heads=2]:zero"], "logits": last_logits()})
    handle.remove()

    def scale(x):
        x = x.clone()
        x[:, [1, 3]] *= 0.5
        return x
    handle = replacing_output(blocks(model)[0], scale)
    cases.append({"arguments": ["--intervene", "blocks.0.hook_resid_post[positions=1,3]:scale=0.5"], "logits": last_logits()})
    handle.remove()

    handle = replacing_input(blocks(model)[2], lambda x: x + 3 * torch.tensor(vector))
    cases.append({"arguments": ["--intervene", "blocks.2.hook_resid_pre:add=VECTOR*3"], "logits": last_logits()})
    handle.remove()

    plus, minus = tokenizer.encode("Alice").ids, tokenizer.encode("Bob").ids
    handle, _ = activation_addition(model, 1, plus, minus, None, 4.0)
    cases.append({"arguments": ["--steer", "blocks.1.hook_resid_pre", "--steer-plus", "Alice", "--steer-minus", "Bob",
                                "--steer-coefficient", "4"], "logits": last_logits()})
    handle.remove()
    return {"prompt": prompt, "tokens": ids, "vector": vector, "cases": cases}


def main():
    references = {
        "activation_addition": [
            fixture_case("gpt2", 1, [5, 17, 3, 21], [9, 2], 0, 3.0, [4, 8]),
            fixture_case("llama_gqa", 1, [11, 12], [13, 14, 15, 6], 1, -2.5, [3, 1, 4, 1, 5, 9, 2, 6]),
        ],
        "cli": cli_cases(),
    }
    with open(OUT, "w") as f:
        json.dump(references, f)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
