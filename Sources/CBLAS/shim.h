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
#endif
