/* Runtime SIMD dispatch. On x86-64 with GCC or Clang on glibc, BX_CLONES compiles a batch
 * kernel twice (AVX2 and the SSE2 baseline) and the loader picks one per CPU (ifunc), so the
 * wheel still runs on CPUs without AVX2. Elsewhere (aarch64: NEON is baseline) the
 * portable -O3 build is the only path. */
#ifndef BX_SIMD_H
#define BX_SIMD_H

#include <stdlib.h> /* defines __GLIBC__ */

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define BX_HAVE_CLONES 1
#define BX_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef BX_CLONES
#define BX_CLONES
#endif

/* Name of the vector path the batch kernels take on this CPU: "avx2", "sse2", "neon" or
 * "scalar". */
const char *bx_simd_impl(void);

#endif
