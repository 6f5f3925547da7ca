#pragma once
// GEMM kernels (filled in by the GEMM work).
