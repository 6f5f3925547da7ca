// Elementwise vector math, included by nn.c once per vector width with VEC (float lanes), VECI (int lanes) and
// WIDTH (the lane count, appended to every name: exp8, exp16, ...) defined. Every lane is computed by the same
// operations at every width, so a kernel gives the same bits whichever width computes an element.

#define SUFFIXED(name) SUFFIXED_WITH(name, WIDTH)
#define SUFFIXED_WITH(name, width) SUFFIXED_EXPANDED(name, width)
#define SUFFIXED_EXPANDED(name, width) name##width

/// e^x (Cephes polynomial, about 1 ulp); exactly 0 below the smallest normal result, finite above 88.
INLINE VEC SUFFIXED(exp)(VEC x) {
    const float lowest = -87.3365447504f, highest = 88.0f;
    VECI underflows = x < lowest;
    x = __builtin_elementwise_min(__builtin_elementwise_max(x, (VEC)lowest), (VEC)highest);
    VEC fx = x * 1.44269504088896341f + 0.5f;
    VEC n = __builtin_convertvector(__builtin_convertvector(fx, VECI), VEC);  // truncated; floor it below
    n -= (VEC)((VECI)(VEC)1.0f & (n > fx));
    VEC r = x - n * 0.693359375f + n * 2.12194440e-4f;
    VEC p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    VECI twoToN = (__builtin_convertvector(n, VECI) + 127) << 23;
    VEC result = p * (VEC)twoToN;
    return (VEC)((VECI)result & ~underflows);
}

INLINE VEC SUFFIXED(sigmoid)(VEC x) { return 1.0f / (1.0f + SUFFIXED(exp)(-x)); }

INLINE VEC SUFFIXED(tanh)(VEC x) { return 1.0f - 2.0f / (SUFFIXED(exp)(2.0f * x) + 1.0f); }

/// Lanes of `a` where `condition` is set, of `b` elsewhere.
INLINE VEC SUFFIXED(select)(VECI condition, VEC a, VEC b) { return (VEC)((condition & (VECI)a) | (~condition & (VECI)b)); }

/// Φ(x), the standard normal CDF, from Abramowitz & Stegun 7.1.26 for erfc (absolute error below 1e-7);
/// the tail below 0 is computed directly, so it keeps its relative accuracy.
INLINE VEC SUFFIXED(normal_cdf)(VEC x) {
    VEC z = __builtin_elementwise_abs(x) * 0.7071067811865476f;
    VEC t = 1.0f / (1.0f + 0.3275911f * z);
    VEC poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
    VEC tail = 0.5f * poly * SUFFIXED(exp)(-z * z);
    return SUFFIXED(select)(x >= 0.0f, 1.0f - tail, tail);
}

INLINE VEC SUFFIXED(activation)(nn_activation kind, VEC x) {
    switch (kind) {
    case NN_GELU_ERF: return x * SUFFIXED(normal_cdf)(x);
    case NN_GELU_TANH: return 0.5f * x * (1.0f + SUFFIXED(tanh)(sqrtTwoOverPi * (x + geluCubic * x * x * x)));
    case NN_SILU: return x * SUFFIXED(sigmoid)(x);
    case NN_SIGMOID: return SUFFIXED(sigmoid)(x);
    case NN_RELU: return __builtin_elementwise_max(x, (VEC)0.0f);
    }
    return x;
}

#undef SUFFIXED
#undef SUFFIXED_WITH
#undef SUFFIXED_EXPANDED
