#ifndef DAKIT_CBLAS_SHIM_H
#define DAKIT_CBLAS_SHIM_H
#include <cblas.h>
#endif
