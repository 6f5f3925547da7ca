"""Reference values for the MIB evaluation (Sources/Circuits/MIBEvaluation.swift, ROC.swift), written to
Tests/CircuitsTests/Fixtures/mib/.

    python scripts/make_mib_references.py                 # areas.json (no dependencies), roc.json (scikit-learn)

areas.json: the MIB circuit track's numbers transcribed from its code, github.com/hannamw/MIB-circuit-track,
  MIB_circuit_track/evaluation.py (commit b759df3), evaluate_area_under_curve:
    - "counts": n = int(pct * n_scored_items) for MIB's percentages and many edge counts;
    - "curves": area_under, area_from_1 and average of hand-made faithfulness lists, by the same loop.
roc.json: scikit-learn's roc_curve(drop_intermediate=False) and roc_auc_score on small score sets with ties.

With --eap-ig DIR --mib DIR, also library.json: the MIB circuit track's own evaluate_area_under_curve, run with
the EAP-IG library at the commit MIB pins as its submodule (7af394a), on the tiny GPT-2 fixture checkpoint
(Tests/LanguageModelsTests/Fixtures/models/gpt2) loaded into TransformerLens 3.9 as make_interp_references.py
does. The library's EAP-IG-inputs scores (5 steps, MIB's attribution metric: minus the mean logit difference)
are written with EAP-IG's Graph.to_json (importances.json, read back by the Swift tests), and the curve is
evaluated under counterfactual patching (|score| and signed ranking) and mean-positional ablation (|score|; means
over the clean prompts, as MIB's scripts pass the task's dataloader), with the logit difference at the last
position as MIB's evaluation metric. EAP-IG tokenizes strings; here tokenize_plus is replaced by one that returns
the fixture's token ids unpadded, and its buffers hard-coded to device='cuda' are made on the CPU (the only
changes to the library's code path). Setup:

    python -m venv .venv-tl && .venv-tl/bin/pip install torch transformer-lens==3.9.0 einops scikit-learn matplotlib
    git clone https://github.com/hannamw/EAP-IG /tmp/EAP-IG && git -C /tmp/EAP-IG checkout 7af394a
    git clone https://github.com/hannamw/MIB-circuit-track /tmp/MIB-circuit-track
    .venv-tl/bin/python scripts/make_mib_references.py --eap-ig /tmp/EAP-IG --mib /tmp/MIB-circuit-track
"""

import argparse
import json
import math
import os
import random
import sys

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(REPO, "Tests", "CircuitsTests", "Fixtures", "mib")

# MIB_circuit_track/evaluation.py, evaluate_area_under_curve
PERCENTAGES = (.001, .002, .005, .01, .02, .05, .1, .2, .5, 1)


def mib_areas(faithfulnesses, log_scale=False):
    """The area loop of evaluate_area_under_curve, verbatim in substance."""
    percentages = PERCENTAGES
    area_under = 0.
    area_from_1 = 0.
    for i in range(len(faithfulnesses) - 1):
        i_1, i_2 = i, i + 1
        x_1 = percentages[i_1]
        x_2 = percentages[i_2]
        if log_scale:
            x_1 = math.log(x_1)
            x_2 = math.log(x_2)
        trapezoidal = (x_2 - x_1) * (((abs(1. - faithfulnesses[i_1])) + (abs(1. - faithfulnesses[i_2]))) / 2)
        area_from_1 += trapezoidal
        trapezoidal = (x_2 - x_1) * ((faithfulnesses[i_1] + faithfulnesses[i_2]) / 2)
        area_under += trapezoidal
    average = sum(faithfulnesses) / len(faithfulnesses)
    return area_under, area_from_1, average


def areas():
    generator = random.Random(16)
    curves = {
        "ones": [1.0] * 10,
        "zeros": [0.0] * 10,
        "rising": [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0],
        "overshoot_and_negative": [-0.2, 0.3, 1.4, 0.9, 1.2, 0.6, 1.0, 1.05, 0.98, 1.0],
        "random": [round(generator.uniform(-1, 2), 6) for _ in range(10)],
    }
    result = {}
    for name, values in curves.items():
        under, from_1, average = mib_areas(values)
        result[name] = {"faithfulness": values, "area_under": under, "area_from_1": from_1, "average": average}
    totals = list(range(1, 1001)) + [1234, 4095, 32491, 65536, 100000, 1234567]
    counts = {str(n): [int(pct * n) for pct in PERCENTAGES] for n in totals}
    return {"percentages": list(PERCENTAGES), "curves": result, "counts": counts}


def roc():
    from sklearn.metrics import roc_auc_score, roc_curve
    generator = random.Random(61)
    cases = {
        "distinct": ([0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.3], [1, 1, 0, 1, 0, 0, 1, 0]),
        "ties_across_classes": ([0.5, 0.5, 0.5, 0.2, 0.9, 0.2, 0.7], [1, 0, 1, 0, 1, 1, 0]),
        "all_tied": ([1.0] * 6, [1, 0, 0, 1, 0, 0]),
        "signed": ([-2.0, 3.0, -0.5, 0.0, 0.0, 1.5, -2.0], [0, 1, 0, 1, 0, 1, 1]),
        "many_ties": ([round(generator.uniform(0, 1), 1) for _ in range(200)], [int(generator.random() < 0.2) for _ in range(200)]),
    }
    result = {}
    for name, (scores, labels) in cases.items():
        fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
        result[name] = {"scores": scores, "labels": labels, "fpr": fpr.tolist(), "tpr": tpr.tolist(),
                        "auroc": float(roc_auc_score(labels, scores))}
    return result


def library(eap_ig, mib):
    sys.path[:0] = [os.path.join(eap_ig, "src"), mib, os.path.dirname(os.path.abspath(__file__))]
    import torch
    from transformers import AutoModelForCausalLM
    import eap.attribute
    import eap.evaluate
    import eap.utils
    from eap.attribute import attribute
    from eap.graph import Graph
    from MIB_circuit_track.evaluation import evaluate_area_under_curve
    from make_interp_references import MODELS, prompt_pairs, tl_model
    torch.set_grad_enabled(True)  # make_interp_references turns gradients off; EAP-IG's attribution needs them

    def tokenize_plus(model, inputs, max_length=None):
        tokens = inputs
        attention_mask = torch.ones_like(tokens)
        return tokens, attention_mask, attention_mask.sum(1), tokens.shape[1]

    class CPUTorch:
        """torch, with the library's hard-coded device='cuda' buffers made on the CPU."""
        def __getattr__(self, name):
            return getattr(torch, name)

        @staticmethod
        def zeros(*args, device=None, **kwargs):
            return torch.zeros(*args, **kwargs)

    for module in (eap.attribute, eap.evaluate, eap.utils):
        module.tokenize_plus = tokenize_plus
        module.torch = CPUTorch()

    hf = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, "gpt2"), attn_implementation="eager", dtype=torch.float32).eval()
    model = tl_model(hf)
    model.cfg.ungroup_grouped_query_attention = True
    clean, corrupted, answers, wrongs = prompt_pairs(hf, seed=116)
    labels = torch.stack([answers, wrongs], dim=1)
    dataloader = [(clean, corrupted, labels)]

    def logit_diff(logits, clean_logits, input_lengths, labels):
        last = logits[torch.arange(logits.shape[0]), input_lengths - 1]
        return torch.gather(last, -1, labels[:, :1])[:, 0] - torch.gather(last, -1, labels[:, 1:])[:, 0]

    graph = Graph.from_model(model)
    # MIB's attribution metric: partial(logit_diff, mean=True, loss=True), i.e. minus the mean logit difference.
    attribute(model, graph, dataloader, lambda *args: -logit_diff(*args).mean(), method="EAP-IG-inputs", ig_steps=5, quiet=True)
    graph.to_json(os.path.join(OUT, "importances.json"))

    curves = {}
    for name, ranking, intervention in (("counterfactual-absolute", True, "patching"), ("counterfactual-signed", False, "patching"),
                                        ("mean-positional-absolute", True, "mean-positional")):
        absolute = ranking
        counts, under, from_1, average, faithfulnesses = evaluate_area_under_curve(
            model, graph, dataloader, logit_diff, quiet=True, absolute=absolute, intervention=intervention,
            intervention_dataloader=dataloader)
        kept = []
        for pct in PERCENTAGES:
            graph.apply_topn(int(pct * len(graph.edges)), absolute, prune=True)
            graph.prune()
            kept.append(graph.count_included_edges())
        curves[name] = {"weighted_edge_counts": counts, "pruned_edge_counts": kept, "area_under": under,
                           "area_from_1": from_1, "average": average, "faithfulnesses": faithfulnesses}
    # InterpBench-style ROC: evaluate_area_under_roc (greedy circuits at each fraction against a reference graph) and
    # print_results.area_under_curve, transcribed (x normalized by the last FPR, trapezoids between the points).
    from MIB_circuit_track.evaluation import evaluate_area_under_roc
    reference = Graph.from_json(os.path.join(OUT, "importances.json"))
    reference.reset()
    generator = random.Random(7)
    true_edges = sorted(name for name in reference.edges if generator.random() < 0.15)
    for name in true_edges:
        reference.edges[name].in_graph = True
    hypothesis = Graph.from_json(os.path.join(OUT, "importances.json"))
    rates = evaluate_area_under_roc(reference, hypothesis)
    xs, ys = rates["FPR"], rates["TPR"]
    auroc = sum((xs[i + 1] / xs[-1] - xs[i] / xs[-1]) * ((ys[i + 1] + ys[i]) / 2) for i in range(len(xs) - 1))
    roc = {"true_edges": true_edges, "fpr": xs, "tpr": ys, "precision": rates["precision"], "auroc": auroc}

    baseline = logit_diff(model(clean), None, torch.full((clean.shape[0],), clean.shape[1]), labels).mean().item()
    return {"model": "gpt2", "clean": clean.tolist(), "corrupted": corrupted.tolist(), "answers": answers.tolist(),
            "wrongs": wrongs.tolist(), "edge_count": len(graph.edges), "clean_value": baseline, "curves": curves, "roc": roc}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--eap-ig", help="an EAP-IG checkout at commit 7af394a")
    parser.add_argument("--mib", help="a MIB-circuit-track checkout")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if args.eap_ig and args.mib:
        with open(os.path.join(OUT, "library.json"), "w") as f:
            json.dump(library(args.eap_ig, args.mib), f, separators=(",", ":"))
    with open(os.path.join(OUT, "areas.json"), "w") as f:
        json.dump(areas(), f, separators=(",", ":"))
    with open(os.path.join(OUT, "roc.json"), "w") as f:
        json.dump(roc(), f, separators=(",", ":"))
    print("wrote", OUT)
