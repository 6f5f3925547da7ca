// LLVMFuzzerRunDriver is defined by libFuzzer itself (linked by -sanitize=fuzzer); this target only declares it.
#include "FuzzDriver.h"
