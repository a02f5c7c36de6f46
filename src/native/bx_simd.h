/* Runtime SIMD dispatch. On x86-64 with GCC or Clang on glibc, BX_CLONES compiles a batch
 * kernel twice (AVX2 and the SSE2 baseline) and the loader picks one per CPU (ifunc), so the
 * wheel still runs on CPUs without AVX2. Elsewhere (aarch64: NEON is baseline) the
 * portable -O3 build is the only path.
 *
 * Only the kernels listed in bx_simd_cloned[] carry BX_CLONES; everything else, the whole
 * per-tick path included (O(1) scalar updates that vectors would not speed up), is compiled
 * once for the baseline ISA. A test disassembles the module and checks the list against the
 * clones the compiler actually emitted. */
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

/* The kernels compiled with BX_CLONES (C names), NULL-terminated; empty (just NULL) in a
 * build without clones. Keep in step with the BX_CLONES annotations. */
extern const char *const bx_simd_cloned[];

/* The variant of the cloned kernels this CPU runs: "avx2" or "sse2" (the default clone);
 * the baseline name ("sse2", "neon" or "scalar") in a build without clones. GCC's and
 * Clang's clone resolvers pick "avx2" exactly when __builtin_cpu_supports("avx2"), which is
 * the test made here. */
const char *bx_simd_impl(void);

/* The ISA every other kernel is compiled for: "sse2" (x86-64 baseline), "neon" (aarch64)
 * or "scalar". */
const char *bx_simd_baseline(void);

#endif
