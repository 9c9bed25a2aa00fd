/* micrograd.tensor._creduce: PyTorch's float sum loops, compiled, with PyTorch's bits.
 *
 * micrograd/tensor/_reduce.py explains PyTorch's CPU sum (SumKernel.cpp's cascade_sum run by
 * the TensorIterator) and replays it with numpy; this module is the same replay in C for the
 * part that touches every element: the serial walk over the iterator's dims and the 2-D kernel
 * calls. _reduce.py plans the dims and the thread split (the same code for both paths) and calls
 * `serial` here; without this module (not built, or MICROGRAD_PURE=1) its numpy path runs.
 *
 * The loops are written as PyTorch's are, lane by lane, in the same order: sums start at 0,
 * each kernel call adds its results into the output (`+=`), and no addition is reassociated
 * (the file is compiled with -ffp-contract=off and without -ffast-math, so the compiler keeps
 * every addition as written; it may still use vector instructions across independent lanes).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_DIMS 64
/* the loops compiled twice, for AVX2 and for any x86-64, chosen when the module loads (vector
   width changes speed only: each lane's additions are the same either way) */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_CLONES
#endif
#define ILP 4    /* row_sum's interleaved partial sums; multi_row_sum's rows in one call */
#define LEVELS 4 /* multi_row_sum's cascade levels */

static int64_t
ceil_log2(int64_t n)
{
    if (n <= 2)
        return 1;
    int64_t bits = 0;
    uint64_t v = (uint64_t)(n - 1);
    while (v) {
        bits++;
        v >>= 1;
    }
    return bits;
}

/* One element type's loops. LANES: PyTorch's vector width for it (AVX2: 8 floats, 4 doubles).
 *
 * cascade: multi_row_sum, the straight cascade over `size` positions of K*L lanes; lane (k, l)
 * of position i is at base + i*row_stride + k*kstride + l*lstride.
 * row_sum: 4 interleaved cascades over the positions of L lanes, the tail into the first. */
#define DEFINE_LOOPS(T, NAME, LANES)                                                            \
    static void NAME##_cascade(const char *base, int64_t row_stride, int K, int64_t kstride,   \
                               int L, int64_t lstride, int64_t size, T *result)               \
    {                                                                                          \
        const int64_t power = ceil_log2(size) / LEVELS > 4 ? ceil_log2(size) / LEVELS : 4;     \
        const int64_t step = (int64_t)1 << power;                                              \
        const int64_t mask = step - 1;                                                         \
        const int n = K * L;                                                                   \
        const int packed = (L == 1 || lstride == (int64_t)sizeof(T))                           \
                           && kstride == (int64_t)(L * sizeof(T));                             \
        T acc[LEVELS][ILP * LANES];                                                            \
        memset(acc, 0, sizeof(acc));                                                           \
        int64_t i = 0;                                                                         \
        for (; i + step <= size;) {                                                            \
            if (packed) { /* the n lanes side by side: a loop the compiler can vectorise */    \
                for (int64_t j = 0; j < step; ++j, ++i) {                                      \
                    const T *row = (const T *)(base + i * row_stride);                         \
                    for (int c = 0; c < n; ++c)                                                \
                        acc[0][c] += row[c];                                                   \
                }                                                                              \
            } else {                                                                           \
                for (int64_t j = 0; j < step; ++j, ++i) {                                      \
                    const char *row = base + i * row_stride;                                   \
                    for (int k = 0; k < K; ++k)                                                \
                        for (int l = 0; l < L; ++l)                                            \
                            acc[0][k * L + l] += *(const T *)(row + k * kstride + l * lstride); \
                }                                                                              \
            }                                                                                  \
            for (int j = 1; j < LEVELS; ++j) {                                                 \
                for (int c = 0; c < n; ++c) {                                                  \
                    acc[j][c] += acc[j - 1][c];                                                \
                    acc[j - 1][c] = 0;                                                         \
                }                                                                              \
                if ((i & (mask << (j * power))) != 0)                                          \
                    break;                                                                     \
            }                                                                                  \
        }                                                                                      \
        for (; i < size; ++i) {                                                                \
            const char *row = base + i * row_stride;                                           \
            for (int k = 0; k < K; ++k)                                                        \
                for (int l = 0; l < L; ++l)                                                    \
                    acc[0][k * L + l] += *(const T *)(row + k * kstride + l * lstride);        \
        }                                                                                      \
        for (int j = 1; j < LEVELS; ++j)                                                       \
            for (int c = 0; c < n; ++c)                                                        \
                acc[0][c] += acc[j][c];                                                        \
        for (int c = 0; c < n; ++c)                                                            \
            result[c] = acc[0][c];                                                             \
    }                                                                                          \
                                                                                               \
    /* the same cascade for ILP*LANES lanes side by side (a vector-wide row_sum, a block of    \
       4 vectors of columns): a fixed lane count, so the compiler vectorises the loops */       \
    VECTOR_CLONES static void NAME##_cascade_full(const char *base, int64_t row_stride, int64_t size,        \
                                    T *result)                                                 \
    {                                                                                          \
        enum { N = ILP * LANES };                                                              \
        const int64_t power = ceil_log2(size) / LEVELS > 4 ? ceil_log2(size) / LEVELS : 4;     \
        const int64_t step = (int64_t)1 << power;                                              \
        const int64_t mask = step - 1;                                                         \
        T acc[LEVELS][N];                                                                      \
        if (size < step) { /* one level: the others stay 0, and x + 0 is x (x is never -0) */  \
            T only[N] = {0};                                                                   \
            for (int64_t i = 0; i < size; ++i) {                                               \
                const T *row = (const T *)(base + i * row_stride);                             \
                for (int c = 0; c < N; ++c)                                                    \
                    only[c] += row[c];                                                         \
            }                                                                                  \
            memcpy(result, only, sizeof(only));                                                \
            return;                                                                            \
        }                                                                                      \
        memset(acc, 0, sizeof(acc));                                                           \
        int64_t i = 0;                                                                         \
        for (; i + step <= size;) {                                                            \
            for (int64_t j = 0; j < step; ++j, ++i) {                                          \
                const T *row = (const T *)(base + i * row_stride);                             \
                for (int c = 0; c < N; ++c)                                                    \
                    acc[0][c] += row[c];                                                       \
            }                                                                                  \
            for (int j = 1; j < LEVELS; ++j) {                                                 \
                for (int c = 0; c < N; ++c) {                                                  \
                    acc[j][c] += acc[j - 1][c];                                                \
                    acc[j - 1][c] = 0;                                                         \
                }                                                                              \
                if ((i & (mask << (j * power))) != 0)                                          \
                    break;                                                                     \
            }                                                                                  \
        }                                                                                      \
        for (; i < size; ++i) {                                                                \
            const T *row = (const T *)(base + i * row_stride);                                 \
            for (int c = 0; c < N; ++c)                                                        \
                acc[0][c] += row[c];                                                           \
        }                                                                                      \
        for (int j = 1; j < LEVELS; ++j)                                                       \
            for (int c = 0; c < N; ++c)                                                        \
                acc[0][c] += acc[j][c];                                                        \
        memcpy(result, acc[0], sizeof(acc[0]));                                                \
    }                                                                                          \
                                                                                               \
    static void NAME##_row_sum(const char *base, int64_t stride, int64_t size, int L,          \
                               int64_t lstride, T *result)                                     \
    {                                                                                          \
        T parts[ILP * LANES];                                                                  \
        const int64_t whole = size / ILP;                                                      \
        if (L == LANES && lstride == (int64_t)sizeof(T) && stride == LANES * lstride)         \
            NAME##_cascade_full(base, stride * ILP, whole, parts);                             \
        else                                                                                   \
            NAME##_cascade(base, stride * ILP, ILP, stride, L, lstride, whole, parts);         \
        for (int64_t i = whole * ILP; i < size; ++i)                                           \
            for (int l = 0; l < L; ++l)                                                        \
                parts[l] += *(const T *)(base + i * stride + l * lstride);                     \
        for (int k = 1; k < ILP; ++k)                                                          \
            for (int l = 0; l < L; ++l)                                                        \
                parts[l] += parts[k * L + l];                                                  \
        for (int l = 0; l < L; ++l)                                                            \
            result[l] = parts[l];                                                              \
    }                                                                                          \
                                                                                               \
    /* one 2-D kernel call: size0 elements (stride s0) for each of size1 outputs (stride s1 in \
       the input, out_stride in the output), each added into its output */                    \
    VECTOR_CLONES static void NAME##_kernel(char *out, int64_t out_stride, const char *in, int64_t s0,       \
                              int64_t s1, int64_t size0, int64_t size1)                        \
    {                                                                                          \
        const int64_t item = sizeof(T);                                                        \
        T sums[ILP * LANES];                                                                   \
        if (s0 == item && size0 >= LANES) { /* contiguous inner */                             \
            const int64_t vectors = size0 / LANES;                                             \
            for (int64_t j = 0; j < size1; ++j) {                                              \
                const char *row = in + j * s1;                                                 \
                NAME##_row_sum(row, LANES * item, vectors, LANES, item, sums);                 \
                T total = 0;                                                                   \
                for (int64_t k = vectors * LANES; k < size0; ++k)                              \
                    total += *(const T *)(row + k * item);                                     \
                for (int l = 0; l < LANES; ++l)                                                \
                    total += sums[l];                                                          \
                *(T *)(out + j * out_stride) += total;                                         \
            }                                                                                  \
        } else if (s1 == item && size1 >= LANES) { /* contiguous outer */                      \
            int64_t j = 0;                                                                     \
            for (; j + ILP * LANES <= size1; j += ILP * LANES) {                               \
                NAME##_cascade_full(in + j * item, s0, size0, sums);                           \
                for (int c = 0; c < ILP * LANES; ++c)                                          \
                    *(T *)(out + (j + c) * out_stride) += sums[c];                             \
            }                                                                                  \
            for (; j + LANES <= size1; j += LANES) {                                           \
                NAME##_row_sum(in + j * item, s0, size0, LANES, item, sums);                   \
                for (int c = 0; c < LANES; ++c)                                                \
                    *(T *)(out + (j + c) * out_stride) += sums[c];                             \
            }                                                                                  \
            for (; j < size1; ++j) {                                                           \
                NAME##_row_sum(in + j * item, s0, size0, 1, 0, sums);                          \
                *(T *)(out + j * out_stride) += sums[0];                                       \
            }                                                                                  \
        } else if (s0 < s1) { /* scalar inner */                                               \
            for (int64_t j = 0; j < size1; ++j) {                                              \
                NAME##_row_sum(in + j * s1, s0, size0, 1, 0, sums);                            \
                *(T *)(out + j * out_stride) += sums[0];                                       \
            }                                                                                  \
        } else { /* scalar outer */                                                            \
            int64_t j = 0;                                                                     \
            for (; j + (ILP - 1) < size1; j += ILP) {                                          \
                NAME##_cascade(in + j * s1, s0, ILP, s1, 1, 0, size0, sums);                   \
                for (int c = 0; c < ILP; ++c)                                                  \
                    *(T *)(out + (j + c) * out_stride) += sums[c];                             \
            }                                                                                  \
            for (; j < size1; ++j) {                                                           \
                NAME##_row_sum(in + j * s1, s0, size0, 1, 0, sums);                            \
                *(T *)(out + j * out_stride) += sums[0];                                       \
            }                                                                                  \
        }                                                                                      \
    }

DEFINE_LOOPS(float, f32, 8)
DEFINE_LOOPS(double, f64, 4)

typedef void (*kernel_fn)(char *, int64_t, const char *, int64_t, int64_t, int64_t, int64_t);

/* serial_for_each: the elements begin..end of the iterator (dims innermost first, at least 2),
   walked in 2-D steps as PyTorch's DimCounter does, one kernel call per step. */
static void
walk(kernel_fn kernel, char *out, const char *in, int ndim, const int64_t *sizes,
     const int64_t *in_strides, const int64_t *out_strides, int64_t begin, int64_t end)
{
    int64_t values[MAX_DIMS];
    int64_t rest = begin;
    for (int d = 0; d < ndim; ++d) {
        values[d] = rest % sizes[d];
        rest /= sizes[d];
    }
    int64_t offset = begin;
    while (offset < end) {
        int64_t step0 = sizes[0] - values[0];
        if (end - offset < step0)
            step0 = end - offset;
        int64_t step1 = 1;
        if (step0 == sizes[0]) {
            step1 = sizes[1] - values[1];
            if ((end - offset) / sizes[0] < step1)
                step1 = (end - offset) / sizes[0];
        }
        const char *in_at = in;
        char *out_at = out;
        for (int d = 0; d < ndim; ++d) {
            in_at += values[d] * in_strides[d];
            out_at += values[d] * out_strides[d];
        }
        kernel(out_at, out_strides[1], in_at, in_strides[0], in_strides[1], step0, step1);
        offset += step0 * step1;
        int d = 0;
        int64_t overflow = step0;
        if (step1 != 1) {
            d = 1;
            overflow = step1;
        }
        for (; d < ndim && overflow > 0; ++d) {
            values[d] += overflow;
            overflow = 0;
            if (values[d] >= sizes[d]) {
                values[d] -= sizes[d];
                overflow = 1;
            }
        }
    }
}

static int
read_ints(PyObject *seq, int64_t *values, int count, const char *what)
{
    PyObject *fast = PySequence_Fast(seq, what);
    if (fast == NULL)
        return -1;
    if (PySequence_Fast_GET_SIZE(fast) != count) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "serial: %s must have %d items", what, count);
        return -1;
    }
    for (int i = 0; i < count; ++i) {
        values[i] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(fast, i));
        if (values[i] == -1 && PyErr_Occurred()) {
            Py_DECREF(fast);
            return -1;
        }
    }
    Py_DECREF(fast);
    return 0;
}

PyDoc_STRVAR(serial_doc,
"serial(a, in_offset, out, out_offset, sizes, in_strides, out_strides, begin, end)\n\n"
"Add PyTorch's sums of the iterator elements begin..end of `a` into `out` (float32 or\n"
"float64, the same dtype). The dims are innermost first, at least 2; strides and offsets\n"
"are in bytes from each array's first element; an output stride of 0 is a reduced dim.");

static PyObject *
serial(PyObject *module, PyObject *args)
{
    PyObject *a, *out, *sizes_seq, *in_seq, *out_seq;
    Py_ssize_t in_offset, out_offset, begin, end;
    if (!PyArg_ParseTuple(args, "OnOnOOOnn:serial", &a, &in_offset, &out, &out_offset,
                          &sizes_seq, &in_seq, &out_seq, &begin, &end))
        return NULL;
    Py_ssize_t ndim = PySequence_Size(sizes_seq);
    if (ndim < 0)
        return NULL;
    if (ndim < 2 || ndim > MAX_DIMS) {
        PyErr_Format(PyExc_ValueError, "serial: 2 to %d dims, not %zd", MAX_DIMS, ndim);
        return NULL;
    }
    int64_t sizes[MAX_DIMS], in_strides[MAX_DIMS], out_strides[MAX_DIMS];
    if (read_ints(sizes_seq, sizes, (int)ndim, "sizes") < 0 ||
        read_ints(in_seq, in_strides, (int)ndim, "in_strides") < 0 ||
        read_ints(out_seq, out_strides, (int)ndim, "out_strides") < 0)
        return NULL;
    Py_buffer src, dst;
    if (PyObject_GetBuffer(a, &src, PyBUF_STRIDES | PyBUF_FORMAT) < 0)
        return NULL;
    if (PyObject_GetBuffer(out, &dst, PyBUF_STRIDES | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&src);
        return NULL;
    }
    kernel_fn kernel = NULL;
    if (src.itemsize == dst.itemsize && strcmp(src.format, dst.format) == 0) {
        if (strcmp(src.format, "f") == 0)
            kernel = f32_kernel;
        else if (strcmp(src.format, "d") == 0)
            kernel = f64_kernel;
    }
    if (kernel == NULL) {
        PyBuffer_Release(&src);
        PyBuffer_Release(&dst);
        PyErr_SetString(PyExc_TypeError, "serial: a and out must both be float32 or float64");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    walk(kernel, (char *)dst.buf + out_offset, (const char *)src.buf + in_offset, (int)ndim,
         sizes, in_strides, out_strides, begin, end);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    Py_RETURN_NONE;
}

static PyMethodDef creduce_methods[] = {
    {"serial", serial, METH_VARARGS, serial_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef creduce_module = {
    PyModuleDef_HEAD_INIT,
    "micrograd.tensor._creduce",
    "PyTorch's float32/float64 sum loops with PyTorch's bits (see micrograd/tensor/_reduce.py).",
    -1,
    creduce_methods,
};

PyMODINIT_FUNC
PyInit__creduce(void)
{
    return PyModule_Create(&creduce_module);
}
