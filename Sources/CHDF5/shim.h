#ifndef DAKIT_CHDF5_SHIM_H
#define DAKIT_CHDF5_SHIM_H
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static inline hid_t dakit_H5T_STD_I8LE(void) { return H5T_STD_I8LE; }
static inline hid_t dakit_H5T_STD_I16LE(void) { return H5T_STD_I16LE; }
static inline hid_t dakit_H5T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t dakit_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t dakit_H5T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hid_t dakit_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t dakit_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t dakit_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t dakit_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t dakit_H5P_GROUP_CREATE(void) { return H5P_GROUP_CREATE; }
static inline hid_t dakit_H5P_DATASET_ACCESS(void) { return H5P_DATASET_ACCESS; }
static inline int dakit_H5Z_FILTER_DEFLATE(void) { return H5Z_FILTER_DEFLATE; }
static inline int dakit_H5Z_FILTER_SHUFFLE(void) { return H5Z_FILTER_SHUFFLE; }
static inline unsigned dakit_H5P_CRT_ORDER_TRACKED(void) { return H5P_CRT_ORDER_TRACKED; }
static inline unsigned dakit_H5P_CRT_ORDER_INDEXED(void) { return H5P_CRT_ORDER_INDEXED; }

/* Frees the strings HDF5 allocated while reading variable-length data (the call was renamed in 1.12). */
static inline herr_t dakit_h5_vlen_reclaim(hid_t type_id, hid_t space_id, void *buf) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Treclaim(type_id, space_id, H5P_DEFAULT, buf);
#else
    return H5Dvlen_reclaim(type_id, space_id, H5P_DEFAULT, buf);
#endif
}

/* Error-stack walk: appends each record's "function: description" to a buffer, one per line,
   from the API call down to the deepest cause. */
typedef struct { char *buffer; size_t capacity; size_t used; } dakit_h5_error_text;

static herr_t dakit_h5_error_walker(unsigned n, const H5E_error2_t *record, void *client) {
    (void)n;
    dakit_h5_error_text *text = (dakit_h5_error_text *)client;
    if (text->used + 1 >= text->capacity) return 0;
    int written = snprintf(text->buffer + text->used, text->capacity - text->used, "%s: %s\n",
                           record->func_name ? record->func_name : "?", record->desc ? record->desc : "");
    if (written > 0) {
        size_t w = (size_t)written;
        text->used += (text->used + w < text->capacity) ? w : (text->capacity - text->used - 1);
    }
    return 0;
}

/* Writes the current thread's HDF5 error stack into `buffer` and clears the stack. */
static inline void dakit_h5_error_stack(char *buffer, size_t capacity) {
    if (capacity == 0) return;
    buffer[0] = 0;
    dakit_h5_error_text text = { buffer, capacity, 0 };
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, dakit_h5_error_walker, &text);
    H5Eclear2(H5E_DEFAULT);
}

/* Number of attributes attached to an object (H5Oget_info changed signature across versions;
   iterating works in all of them). Returns -1 on failure. */
static herr_t dakit_h5_count_attribute(hid_t loc, const char *name, const H5A_info_t *info, void *client) {
    (void)loc; (void)name; (void)info;
    *(long *)client += 1;
    return 0;
}
static inline long dakit_h5_attribute_count(hid_t object) {
    long count = 0;
    hsize_t index = 0;
    if (H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, dakit_h5_count_attribute, &count) < 0) return -1;
    return count;
}

/* ---- Object identity across libhdf5 versions (addresses in 1.10, tokens from 1.12) ---- */

/* Writes a key that is the same for every hard link to one object into `key` (16 bytes) and its
   file number into `fileno`; returns < 0 when libhdf5 cannot tell. */
static inline int dakit_h5_object_key(hid_t object, unsigned long *fileno, unsigned char key[16]) {
    memset(key, 0, 16);
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t info;
    if (H5Oget_info3(object, &info, H5O_INFO_BASIC) < 0) return -1;
    *fileno = (unsigned long)info.fileno;
    memcpy(key, &info.token, sizeof(info.token) < 16 ? sizeof(info.token) : 16);
#else
    H5O_info_t info;
    if (H5Oget_info2(object, &info, H5O_INFO_BASIC) < 0) return -1;
    *fileno = (unsigned long)info.fileno;
    memcpy(key, &info.addr, sizeof(info.addr) < 16 ? sizeof(info.addr) : 16);
#endif
    return 0;
}

/* Silence libhdf5's own printing of its error stack; DAKit turns errors into Swift errors. */
static inline void dakit_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
