#include "bx_simd.h"

#if defined(BX_HAVE_CLONES)
const char *const bx_simd_cloned[] = {"bx_depth_imbalance_batch", NULL};
#else
const char *const bx_simd_cloned[] = {NULL};
#endif

const char *bx_simd_baseline(void) {
#if defined(__x86_64__)
    return "sse2";
#elif defined(__aarch64__) || defined(__ARM_NEON)
    return "neon";
#else
    return "scalar";
#endif
}

const char *bx_simd_impl(void) {
#if defined(BX_HAVE_CLONES)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? "avx2" : "sse2";
#else
    return bx_simd_baseline();
#endif
}
