/* Structure-aware fuzzing: a byte stream decoded into a VALID HDF5 file, so that the fuzzer explores
   what invmap's readers do with well-formed files of the wrong content (missing datasets, wrong ranks
   and shapes, zero rows, huge sizes, wrong types, NaN/Inf, odd strings) instead of libhdf5's parser.

   Encoding: up to FUZZ_H5_MAX_RECORDS records, each
     kind     1 byte: bit 0: 0 dataset, 1 attribute of the root group; bits 1-7: name selector (below
              FUZZ_H5_OWN_NAME: an entry of the target's vocabulary, else a name of up to 15 bytes follows)
     type     1 byte mod 7: float64, float32, int32, int64, uint8, fixed-length string, variable-length string
     rank     1 byte mod 4 (0: scalar)
     dims     1 byte per dimension: < 160: 0..5; < 224: 10..73; < 248: 64 * (1..24); else (datasets only) one
              of 2^31, 2^32, 2^40, 2^58, 2^60, 2^61, 2^62, 2^63 (integer truncation and size overflow); the
              other sizes are clamped to FUZZ_H5_MAX_ELEMENTS elements in all
     values   elements only when there are at most FUZZ_H5_MAX_WRITE of them (else the dataset is created and
              never written: reads give the fill value); numbers: 1 byte each, < 16 a special value (NaN, Inf,
              huge, denormal, ...), else a small number; strings: 1 byte (< 128: a vocabulary string, else
              a length), then the bytes. */
#include "fuzz_common.h"
#include <math.h>
#include <string.h>

#define FUZZ_H5_MAX_RECORDS  24
#define FUZZ_H5_OWN_NAME     112
#define FUZZ_H5_MAX_WRITE    4096
#define FUZZ_H5_MAX_STRING   64
#define FUZZ_H5_SMALL_DIM    160
#define FUZZ_H5_MEDIUM_DIM   224
#define FUZZ_H5_LARGE_DIM    248
#define FUZZ_H5_MAX_ELEMENTS (1 << 20)

static const int fuzz_huge_log2[8] = {31, 32, 40, 58, 60, 61, 62, 63};

enum { FUZZ_F64, FUZZ_F32, FUZZ_I32, FUZZ_I64, FUZZ_U8, FUZZ_FIXSTR, FUZZ_VLSTR, FUZZ_NTYPES };

static const double fuzz_special[16] = {0.0, 1.0, -1.0, 2.0, 0.5, -0.0, 1e308, -1e308, 4.9e-324, 1e-310, 3.0, 1000.0, 1e18, -1e18, 0, 0};

static double FuzzNumber(FuzzBytes *b)
{
  uint8_t v = FuzzByte(b);
  if (v == 14) return NAN;
  if (v == 15) return INFINITY;
  if (v < 16) return fuzz_special[v];
  return ((double)v - 64.0) / 16.0; /* -3 .. 11.9, steps of 1/16 */
}

static int64_t FuzzInteger(FuzzBytes *b)
{
  uint8_t v = FuzzByte(b);
  switch (v) {
    case 250:
      return INT32_MAX;
    case 251:
      return INT32_MIN;
    case 252:
      return INT64_MAX;
    case 253:
      return INT64_MIN;
    case 254:
      return -1;
    case 255:
      return (int64_t)1 << 40;
    default:
      return v < 128 ? v % 8 : v - 128; /* mostly small: status codes, layer sizes, flags */
  }
}

static size_t VocabularySize(const char *const *v)
{
  size_t n = 0;
  while (v && v[n]) n++;
  return n;
}

/* a string: from the vocabulary or raw bytes (NULs become 'x'); s has room for FUZZ_H5_MAX_STRING + 1 */
static void FuzzString(FuzzBytes *b, const char *const *voc, char s[])
{
  uint8_t v = FuzzByte(b);
  size_t nv = VocabularySize(voc), len;
  if (v < 128 && nv) {
    (void)snprintf(s, FUZZ_H5_MAX_STRING + 1, "%s", voc[v % nv]);
    return;
  }
  len = v % (FUZZ_H5_MAX_STRING + 1);
  for (size_t i = 0; i < len; i++) {
    uint8_t c = FuzzByte(b);
    s[i] = c ? (char)c : 'x';
  }
  s[len] = 0;
}

static hsize_t FuzzDim(FuzzBytes *b, int dataset)
{
  uint8_t v = FuzzByte(b);
  if (v < FUZZ_H5_SMALL_DIM) return v % 6;
  if (v < FUZZ_H5_MEDIUM_DIM) return (hsize_t)(v - FUZZ_H5_SMALL_DIM) + 10;
  if (v < FUZZ_H5_LARGE_DIM || !dataset) return (hsize_t)64 * (hsize_t)(v - FUZZ_H5_MEDIUM_DIM + 1);
  return (hsize_t)1 << fuzz_huge_log2[v - FUZZ_H5_LARGE_DIM];
}

static hid_t FuzzType(int t)
{
  hid_t type;
  switch (t) {
    case FUZZ_F64:
      return H5Tcopy(H5T_NATIVE_DOUBLE);
    case FUZZ_F32:
      return H5Tcopy(H5T_NATIVE_FLOAT);
    case FUZZ_I32:
      return H5Tcopy(H5T_NATIVE_INT32);
    case FUZZ_I64:
      return H5Tcopy(H5T_NATIVE_INT64);
    case FUZZ_U8:
      return H5Tcopy(H5T_NATIVE_UINT8);
    case FUZZ_FIXSTR:
      type = H5Tcopy(H5T_C_S1);
      (void)H5Tset_size(type, FUZZ_H5_MAX_STRING + 1);
      return type;
    default:
      type = H5Tcopy(H5T_C_S1);
      (void)H5Tset_size(type, H5T_VARIABLE);
      return type;
  }
}

/* element values in the memory layout of FuzzType(t); buf holds n elements */
static void *FuzzValues(FuzzBytes *b, int t, size_t n, const char *const *voc, char **strs)
{
  void *buf;
  switch (t) {
    case FUZZ_F64:
    case FUZZ_F32:
    case FUZZ_I32:
    case FUZZ_I64:
    case FUZZ_U8: {
      const size_t es[] = {sizeof(double), sizeof(float), sizeof(int32_t), sizeof(int64_t), sizeof(uint8_t)};
      buf = calloc(n ? n : 1, es[t]);
      for (size_t i = 0; buf && i < n; i++) {
        if (t == FUZZ_F64) ((double *)buf)[i] = FuzzNumber(b);
        if (t == FUZZ_F32) ((float *)buf)[i] = (float)FuzzNumber(b);
        if (t == FUZZ_I32) ((int32_t *)buf)[i] = (int32_t)FuzzInteger(b);
        if (t == FUZZ_I64) ((int64_t *)buf)[i] = FuzzInteger(b);
        if (t == FUZZ_U8) ((uint8_t *)buf)[i] = FuzzByte(b);
      }
      return buf;
    }
    case FUZZ_FIXSTR:
      buf = calloc(n ? n : 1, FUZZ_H5_MAX_STRING + 1);
      for (size_t i = 0; buf && i < n; i++) FuzzString(b, voc, (char *)buf + i * (FUZZ_H5_MAX_STRING + 1));
      return buf;
    default:
      buf = calloc(n ? n : 1, sizeof(char *));
      *strs = calloc(n ? n : 1, FUZZ_H5_MAX_STRING + 1);
      if (!buf || !*strs) return buf;
      for (size_t i = 0; i < n; i++) {
        ((char **)buf)[i] = *strs + i * (FUZZ_H5_MAX_STRING + 1);
        FuzzString(b, voc, ((char **)buf)[i]);
      }
      return buf;
  }
}

static void FuzzRecord(FuzzBytes *b, const FuzzH5Vocabulary *voc, hid_t file)
{
  uint8_t kind = FuzzByte(b);
  int attr = kind & 1, sel = kind >> 1, t, rank;
  const char *const *names = attr ? voc->attributes : voc->datasets;
  size_t nn = VocabularySize(names), n = 1;
  char name[32];
  hsize_t dims[3] = {1, 1, 1}, total = 1;
  hid_t type, space, obj, lcpl, dcpl;
  char *strs = NULL;
  void *buf;
  int big = 0;

  if (sel < FUZZ_H5_OWN_NAME && nn)
    (void)snprintf(name, sizeof(name), "%s", names[sel % nn]);
  else {
    size_t len = 1 + FuzzByte(b) % 15, off = attr ? 0 : 1;
    name[0] = '/';
    for (size_t i = 0; i < len; i++) {
      uint8_t c = FuzzByte(b);
      name[off + i] = (c && c != '/' && c != '.') ? (char)c : 'x';
    }
    name[off + len] = 0;
  }
  t = FuzzByte(b) % FUZZ_NTYPES;
  rank = FuzzByte(b) % 4;
  for (int d = 0; d < rank; d++) {
    dims[d] = FuzzDim(b, !attr);
    if (dims[d] < FUZZ_H5_MAX_ELEMENTS) { /* ordinary sizes: at most FUZZ_H5_MAX_ELEMENTS in all */
      if (dims[d] && total > FUZZ_H5_MAX_ELEMENTS / dims[d]) dims[d] = 1;
      total *= dims[d] ? dims[d] : 1;
    }
    if (dims[d] > FUZZ_H5_MAX_WRITE || (n && dims[d] > FUZZ_H5_MAX_WRITE / n)) big = 1;
    n = big ? 0 : n * dims[d];
  }
  type = FuzzType(t);
  space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
  if (type < 0 || space < 0) goto out;
  if (attr) {
    obj = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (obj < 0) goto out;
    if (!big && (buf = FuzzValues(b, t, n, voc->strings, &strs))) {
      (void)H5Awrite(obj, type, buf);
      free(buf);
    }
    (void)H5Aclose(obj);
  } else {
    lcpl = H5Pcreate(H5P_LINK_CREATE);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    (void)H5Pset_create_intermediate_group(lcpl, 1);
    (void)H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE); /* huge datasets cost nothing until written */
    obj = H5Dcreate2(file, name, type, space, lcpl, dcpl, H5P_DEFAULT);
    (void)H5Pclose(lcpl);
    (void)H5Pclose(dcpl);
    if (obj < 0) goto out;
    if (!big && (buf = FuzzValues(b, t, n, voc->strings, &strs))) {
      (void)H5Dwrite(obj, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
      free(buf);
    }
    (void)H5Dclose(obj);
  }
out:
  free(strs);
  if (space >= 0) (void)H5Sclose(space);
  if (type >= 0) (void)H5Tclose(type);
}

int FuzzH5Build(const uint8_t *data, size_t size, const FuzzH5Vocabulary *voc, const char path[])
{
  FuzzBytes b = {data, size};
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);

  if (file < 0) return 1;
  for (int r = 0; r < FUZZ_H5_MAX_RECORDS && b.n; r++) FuzzRecord(&b, voc, file);
  return H5Fclose(file) < 0;
}
