// Umbrella header of the C kernels: SIMD code with run-time CPU dispatch and portable fallbacks.
#include "gemm.h"
#include "nn.h"
