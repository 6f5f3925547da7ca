"""Reference scores of EAP-IG's attribution methods (Sources/Circuits/EdgeAttributionMethod.swift and the files it
names, NodeAttribution.swift), written to Tests/CircuitsTests/Fixtures/<model>/eap_variants.json.

    /work/venv-tl/bin/python scripts/make_eap_variant_references.py [--eap-ig /work/ref/EAP-IG]

The EAP-IG library (github.com/hannamw/EAP-IG, commit 795f560; its src/ is put on sys.path, nothing copied) runs
its own attribute() and attribute_node() on the tiny fixture checkpoints (Tests/LanguageModelsTests/Fixtures/models:
gpt2, and llama_gqa ungrouped as the library requires), loaded into TransformerLens 3.9 as
make_interp_references.py does, with the prompt pairs of make_interp_references.py (same seeds, so the same tokens
as edges.json) and the mean logit difference at the last position as the metric (our metric, same sign). As in
make_mib_references.py, tokenize_plus returns the token ids unpadded and the buffers hard-coded to device='cuda'
are made on the CPU.

Edge scores ("edges"), by our edge names: EAP, EAP-IG-inputs (5 steps), EAP-IG-activations (3 steps),
clean-corrupted, exact, information-flow-routes. Node scores ("nodes"): attribute_node's EAP, EAP-IG-inputs (5
steps), EAP-IG-activations (3 steps) and clean-corrupted (get_scores_clean_corrupted of attribute_node); exact node
scores (every outgoing edge of the node patched) come from make_interp_references.py's edge patching on
TransformerLens hooks instead, because attribute_node's get_scores_exact gives every node the same value: its
evaluate_graph prunes the graph in place, so once the input node's edges are removed every edge is pruned, and
restoring one node's edges afterwards does not restore them.
Neuron scores ("neurons"): MLP hidden units (mlp.hook_post), by torch autograd: the sum over examples and
positions of (corrupted - clean post-activation) * dm/d(post-activation) on the clean run (EAP) and averaged
over the input-interpolated runs of attribute_node's EAP-IG-inputs (k = 1..steps).

Two documented departures from the library's graph, so that its computation is run on our graph's definitions:
- information flow routes on GPT-2: the input node's output hook is set to blocks.0.hook_resid_pre (token plus
  positional embedding, our input node) instead of hook_embed. Patching-based methods are unaffected (the
  positional embedding cancels in corrupted - clean).
- node scores of MLPs: attribute_node takes an MLP's gradient at its input (hook_mlp_in) while its difference is
  the MLP's output; here the MLP node's gradient hook is moved to hook_mlp_out, the MLP's output, as for heads.
The library divides its gradient scores by the number of examples although its metric is already a mean; ours
do not (a score approximates the change of the mean metric, as exact patching measures it), so the library's
gradient-based edge and node scores are the tests' references times "batch". Information flow routes average over
examples in both.
- EAP-IG-activations on Llama: when the embeddings are replaced by their interpolation (a constant) nothing before
  layer 0's attention requires grad, so autograd never reaches layer 0's split q/k/v inputs and the library's backward
  hooks there do not fire (on GPT-2 the positional embedding keeps them in the graph). A permanent hook marks
  blocks.0.hook_resid_pre as requiring grad during that run; it changes no value.
With grouped-query attention the library ungroups keys and values per query head: a key/value edge into our
key-value head g is the sum of the library's edges into its query heads for the gradient methods, equal to each of
them for information flow routes (they read the same input), and is left out for exact (the library patches one
query head's copy, we the shared input).
"""

import argparse
import json
import os
import sys

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(REPO, "Tests", "CircuitsTests", "Fixtures")
IG_STEPS, ACTIVATION_STEPS = 5, 3


def main(eap_ig):
    sys.path[:0] = [os.path.join(eap_ig, "src"), os.path.dirname(os.path.abspath(__file__))]
    import torch
    from transformers import AutoModelForCausalLM
    import eap.attribute
    import eap.attribute_node
    import eap.evaluate
    import eap.utils
    from eap.attribute import attribute
    from eap.attribute_node import attribute_node, get_scores_clean_corrupted
    from eap.graph import Graph
    from make_interp_references import MODELS, prompt_pairs, tl_model
    torch.set_grad_enabled(True)

    def tokenize_plus(model, inputs, max_length=None):
        attention_mask = torch.ones_like(inputs)
        return inputs, attention_mask, attention_mask.sum(1), inputs.shape[1]

    class CPUTorch:
        """torch, with the library's hard-coded device='cuda' buffers made on the CPU."""
        def __getattr__(self, name):
            return getattr(torch, name)

        @staticmethod
        def zeros(*args, device=None, **kwargs):
            return torch.zeros(*args, **kwargs)

    for module in (eap.attribute, eap.attribute_node, eap.evaluate, eap.utils):
        module.tokenize_plus = tokenize_plus
        module.torch = CPUTorch()

    def write(name, seed):
        hf = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, name), attn_implementation="eager",
                                                  dtype=torch.float32).eval()
        model = tl_model(hf)
        model.cfg.ungroup_grouped_query_attention = True
        model.requires_grad_(True)
        clean, corrupted, answers, wrongs = prompt_pairs(hf, seed)
        labels = torch.stack([answers, wrongs], dim=1)
        dataloader = [(clean, corrupted, labels)]
        heads, kv = model.cfg.n_heads, model.cfg.n_key_value_heads or model.cfg.n_heads
        grouped = kv != heads

        def metric(logits, clean_logits, input_lengths, labels):
            last = logits[torch.arange(logits.shape[0]), input_lengths - 1]
            return (torch.gather(last, -1, labels[:, :1])[:, 0] - torch.gather(last, -1, labels[:, 1:])[:, 0]).mean()

        def our_edge(library_name):
            """Our name of a library edge, and whether it is a key/value edge into a grouped head."""
            sender, receiver = library_name.split("->")
            if grouped and receiver.endswith(("<k>", "<v>")):
                layer, head = receiver[1:-3].split(".h")
                return f"{sender}->a{layer}.kv{int(head) // (heads // kv)}{receiver[-3:]}", True
            return library_name, False

        def edge_scores(method, steps=None, input_hook=None):
            graph = Graph.from_model(model)
            if input_hook:
                graph.nodes["input"].out_hook = input_hook
            if method == "EAP-IG-activations":
                model.add_hook("blocks.0.hook_resid_pre", lambda x, hook: x if x.requires_grad else x.requires_grad_(True),
                               is_permanent=True)
            attribute(model, graph, dataloader, metric, method=method, ig_steps=steps, quiet=True)
            model.reset_hooks(including_permanent=True)
            scores, shared = {}, {}
            for library_name, edge in graph.edges.items():
                ours, ungrouped = our_edge(library_name)
                value = float(edge.score)
                if not ungrouped:
                    scores[ours] = value
                elif method == "information-flow-routes":
                    shared.setdefault(ours, []).append(value)
                elif method != "exact":
                    scores[ours] = scores.get(ours, 0.0) + value
            for ours, values in shared.items():
                assert max(values) - min(values) <= 1e-6 * max(1, max(abs(v) for v in values)), ours
                scores[ours] = values[0]
            return scores

        def node_graph():
            graph = Graph.from_model(model, node_scores=True)
            for layer in range(model.cfg.n_layers):
                graph.nodes[f"m{layer}"].in_hook = f"blocks.{layer}.hook_mlp_out"
            return graph

        def node_scores(graph):
            return {node.name: float(graph.nodes_scores[graph.forward_index(node, attn_slice=False)])
                    for node in graph.nodes.values() if node.name != "logits"}

        nodes = {}
        for method, steps in (("EAP", None), ("EAP-IG-inputs", IG_STEPS), ("EAP-IG-activations", ACTIVATION_STEPS)):
            graph = node_graph()
            attribute_node(model, graph, dataloader, metric, method=method, ig_steps=steps, quiet=True)
            nodes[method] = node_scores(graph)
        graph = node_graph()
        graph.nodes_scores[:] = get_scores_clean_corrupted(model, graph, dataloader, metric, quiet=True)
        nodes["clean-corrupted"] = node_scores(graph)
        nodes["exact"] = exact_node_scores(model, clean, corrupted, answers, wrongs)

        edges = {
            "EAP": edge_scores("EAP"),
            "EAP-IG-inputs": edge_scores("EAP-IG-inputs", IG_STEPS),
            "EAP-IG-activations": edge_scores("EAP-IG-activations", ACTIVATION_STEPS),
            "clean-corrupted": edge_scores("clean-corrupted"),
            "exact": edge_scores("exact"),
            "information-flow-routes": edge_scores(
                "information-flow-routes",
                input_hook="blocks.0.hook_resid_pre" if model.cfg.positional_embedding_type == "standard" else None),
        }
        result = {"model": name, "clean": clean.tolist(), "corrupted": corrupted.tolist(), "answers": answers.tolist(),
                  "wrongs": wrongs.tolist(), "batch": clean.shape[0], "ig_steps": IG_STEPS, "activation_steps": ACTIVATION_STEPS,
                  "edges": edges, "nodes": nodes,
                  "neurons": neuron_scores(model, clean, corrupted, lambda logits: metric(
                      logits, None, torch.full((clean.shape[0],), clean.shape[1]), labels))}
        with open(os.path.join(OUT, name, "eap_variants.json"), "w") as f:
            json.dump(result, f, separators=(",", ":"))
        print(name, {k: len(v) for k, v in edges.items()})

    def exact_node_scores(model, clean, corrupted, answers, wrongs):
        """Each node's outgoing edges patched together, by make_interp_references.py's edge patching on TransformerLens
        hooks (keys and values per key-value head, as there: grouped again), minus the clean metric."""
        from functools import partial
        from make_interp_references import Graph as EdgeGraph, edge_patched_metric, logit_diff, sender_outputs
        model.cfg.ungroup_grouped_query_attention = False
        with torch.no_grad():
            graph = EdgeGraph(model.cfg)
            metric = partial(logit_diff, answers=answers, wrongs=wrongs)
            corrupted_outputs = sender_outputs(model, graph, corrupted)
            baseline = metric(model(clean)).item()
            scores = {name: edge_patched_metric(model, graph, clean, corrupted_outputs,
                                                [e for e in graph.edges() if e[0] == s], metric) - baseline
                      for s, (name, _, _) in enumerate(graph.senders)}
        model.cfg.ungroup_grouped_query_attention = True
        return scores

    def neuron_scores(model, clean, corrupted, metric):
        points = [f"blocks.{l}.mlp.hook_post" for l in range(model.cfg.n_layers)]
        _, corrupted_cache = model.run_with_cache(corrupted, names_filter=points)
        _, clean_cache = model.run_with_cache(clean, names_filter=points)
        clean_embed = model.run_with_cache(clean, names_filter=["blocks.0.hook_resid_pre"])[1]["blocks.0.hook_resid_pre"]
        corrupted_embed = model.run_with_cache(corrupted, names_filter=["blocks.0.hook_resid_pre"])[1]["blocks.0.hook_resid_pre"]

        def gradients(override=None):
            watched = {}

            def watch(x, hook):
                watched[hook.name] = x
                return x
            hooks = [(p, watch) for p in points]
            if override is not None:
                hooks.insert(0, ("blocks.0.hook_resid_pre", lambda x, hook: override))
            value = metric(model.run_with_hooks(clean, fwd_hooks=hooks))
            grads = torch.autograd.grad(value, [watched[p] for p in points])
            return dict(zip(points, grads))

        def scores(grads):
            return {f"m{l}": ((corrupted_cache[p] - clean_cache[p]) * grads[p]).sum((0, 1)).tolist()
                    for l, p in enumerate(points)}

        eap = gradients()
        ig = {p: 0 for p in points}
        for k in range(1, IG_STEPS + 1):
            g = gradients(corrupted_embed + k / IG_STEPS * (clean_embed - corrupted_embed))
            ig = {p: ig[p] + g[p] / IG_STEPS for p in points}
        return {"EAP": scores(eap), "EAP-IG-inputs": scores(ig)}

    for index, name in enumerate(["gpt2", "llama_gqa"]):
        write(name, seed=100 + index)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--eap-ig", default="/work/ref/EAP-IG", help="an EAP-IG checkout (commit 795f560)")
    main(parser.parse_args().eap_ig)
