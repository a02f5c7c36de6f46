#include "bx_simd.h"

const char *bx_simd_impl(void) {
#if defined(BX_HAVE_CLONES)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? "avx2" : "sse2";
#elif defined(__x86_64__)
    return "sse2";
#elif defined(__aarch64__) || defined(__ARM_NEON)
    return "neon";
#else
    return "scalar";
#endif
}
