"""A tiny Gemma Scope SAE (`params.npz`, as Gemma Scope publishes them) and reference values, numpy only.

    python3 scripts/make_gemma_scope_fixture.py

Writes Tests/InterpTests/Fixtures/saes/gemma_scope/:
- params.npz: `np.savez` of W_enc [32, 24], W_dec [24, 32], b_enc [24], b_dec [32], threshold [24] (float32), sized for
  the GPT-2 fixture's residual stream (d 32);
- compressed.npz: the same arrays through `np.savez_compressed`, which the reader refuses by name;
- reference.json: random activations x [2, 3, 32] and, by Gemma Scope's own JumpReLU definition (its tutorial's
  `JumpReLUSAE`: pre = x @ W_enc + b_enc, features = (pre > threshold) * relu(pre), reconstruction = features @ W_dec +
  b_dec; the decoder bias is not subtracted from the input), the features and the reconstruction.
"""

import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "InterpTests", "Fixtures", "saes", "gemma_scope")


def main():
    rng = np.random.default_rng(2024)
    d_in, d_sae = 32, 24
    params = {
        "W_enc": rng.normal(0, 0.3, (d_in, d_sae)).astype(np.float32),
        "W_dec": rng.normal(0, 0.3, (d_sae, d_in)).astype(np.float32),
        "b_enc": rng.normal(0, 0.1, d_sae).astype(np.float32),
        "b_dec": rng.normal(0, 0.1, d_in).astype(np.float32),
        "threshold": rng.uniform(0.2, 0.8, d_sae).astype(np.float32),
    }
    os.makedirs(OUT, exist_ok=True)
    np.savez(os.path.join(OUT, "params.npz"), **params)
    np.savez_compressed(os.path.join(OUT, "compressed.npz"), **params)
    x = rng.normal(0, 1, (2, 3, d_in)).astype(np.float64)
    pre = x @ params["W_enc"].astype(np.float64) + params["b_enc"]
    features = (pre > params["threshold"]) * np.maximum(pre, 0)
    reconstruction = features @ params["W_dec"].astype(np.float64) + params["b_dec"]
    assert 0 < (features > 0).mean() < 1, "some features fire, some do not"
    with open(os.path.join(OUT, "reference.json"), "w") as handle:
        json.dump({"x": x.tolist(), "features": features.tolist(), "reconstruction": reconstruction.tolist()}, handle)
    print(f"wrote {OUT}: {(features > 0).mean():.2f} of the features fire")


if __name__ == "__main__":
    main()
