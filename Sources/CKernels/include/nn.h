#pragma once
// Row kernels for softmax, norms and activations (filled in by the NN-ops work).
