#ifndef DAKIT_CBLAS_SHIM_H
#define DAKIT_CBLAS_SHIM_H
#include <cblas.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* Raises glibc's mmap and trim thresholds to `bytes`, so that large blocks freed by one training
   step are reused by the next instead of being unmapped and faulted in again (see TensorCore's
   tuneAllocatorForTraining). Does nothing on other C libraries. */
static inline void dakit_retain_freed_memory(int bytes) {
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, bytes);
    mallopt(M_TRIM_THRESHOLD, bytes);
#else
    (void)bytes;
#endif
}

/* Sequentially consistent atomics on a plain `long` and a spin-wait hint, for TensorCore's thread
   pool (KernelPool): C11 builtins, so that the pool needs neither the Synchronization module (not
   on every platform the package lists) nor a lock on its hot path. */
static inline long dakit_atomic_load(long *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void dakit_atomic_store(long *p, long v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
/* Adds `v` and returns the value before. */
static inline long dakit_atomic_fetch_add(long *p, long v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static inline void dakit_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
/* LAPACK's dsyevr (OpenBLAS exports the reference LAPACK routines), for TensorCore's symmetric
   eigen-decomposition. Declared here because Debian's libopenblas-dev installs no lapacke.h. The
   three trailing lengths are the hidden lengths of the character arguments that gfortran-built
   LAPACK expects (1 each); a C-built LAPACK ignores them. */
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
             const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
             double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
             const int *liwork, int *info, size_t jobz_len, size_t range_len, size_t uplo_len);

#endif
