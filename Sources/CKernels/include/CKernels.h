// Umbrella header of the C kernels: SIMD code with run-time CPU dispatch and portable fallbacks.
#include "allocator.h"
#include "attention.h"
#include "cpu_caches.h"
#include "gemm.h"
#include "halfprecision.h"
#include "nn.h"
#include "quantdot.h"
#include "wait_word.h"
