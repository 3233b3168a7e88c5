#ifndef DAKIT_CHDF5_SHIM_H
#define DAKIT_CHDF5_SHIM_H
#include <hdf5.h>

/* HDF5's type and flag constants are macros (often expanding to function calls that
   initialise the library), which Swift cannot import. Expose them as inline functions. */
static inline hid_t dakit_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t dakit_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t dakit_H5T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
static inline hid_t dakit_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t dakit_H5T_NATIVE_INT16(void) { return H5T_NATIVE_INT16; }
static inline hid_t dakit_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t dakit_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t dakit_H5T_NATIVE_UINT32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t dakit_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t dakit_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t dakit_H5T_C_S1(void) { return H5T_C_S1; }
static inline hid_t dakit_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t dakit_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t dakit_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline hid_t dakit_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t dakit_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline unsigned dakit_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned dakit_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline unsigned dakit_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned dakit_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline size_t dakit_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline hsize_t dakit_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }

/* Silence libhdf5's own printing of its error stack; DAKit turns errors into Swift errors. */
static inline void dakit_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
