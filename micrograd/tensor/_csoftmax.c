/* micrograd.tensor._csoftmax: PyTorch's float32 softmax, log_softmax and nll_loss in C.
 *
 * The compiled twin of micrograd/tensor/_softmax32.py: the same operations in the same order,
 * so the same bits, without the numpy passes (several per call) that made the replay a quarter
 * of a small training step. _softmax32.py uses these functions when this module is built and
 * MICROGRAD_PURE is not set, and its numpy code otherwise; the tests compare the two on
 * generated inputs and both with torch.
 *
 * What is replayed (see _softmax32.py for PyTorch's kernels it follows):
 * - SLEEF's float32 `expf` (u10) and `logf` (u10, as built for AVX-512), operation by operation,
 *   every fused multiply-add written as `fmaf` (this file is compiled with -ffp-contract=off, so
 *   the compiler fuses nothing else and rounds every other operation on its own);
 * - `lane_sum`: a row summed as PyTorch's 16-float vectors add it (16 partial sums, the last
 *   partial vector into the first lanes, then a pairwise tree);
 * - nll_loss's cascade of 8 partial sums, PyTorch's loop itself.
 *
 * Arrays come in through the buffer protocol (C-contiguous float32 and int64 buffers; the
 * caller allocates the outputs), so building this module needs no numpy headers.
 *
 * Speed: the element loops are compiled three times (AVX-512, AVX2 + FMA, and plain x86-64,
 * where `fmaf` is a library call) and the loader picks the one the processor runs
 * (GCC's target_clones). Every copy computes the same floats: each operation is an IEEE
 * operation, rounded once, whatever the vector width.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && defined(__x86_64__) && \
    defined(__linux__)
#define ELEMENT_LOOP __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ELEMENT_LOOP
#endif

/* helpers inlined into each compiled copy of the loops that call them (a call would run the
 * plain x86-64 code, where every fmaf is a library call) */
#if defined(__GNUC__)
#define INLINE static inline __attribute__((always_inline))
#else
#define INLINE static inline
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict /* (MSVC's C before C11 spells it so) */
#endif

#define LANES 16        /* floats per AVX-512 vector, PyTorch's width on this kind of CPU */
#define CASCADE_LEVELS 8 /* nll_loss's partial sums */
#define LEVEL_BITS 4     /* level j is flushed at row indices that are multiples of 16**(j+1) */

/* SLEEF's constants, as float32 (written in hexadecimal: exactly _sleef.py's values) */
#define R_LN2 0x1.715476p+0f
#define L2U 0x1.62e4p-1f /* ln 2 in two parts: the high part exact in a few bits */
#define L2L 0x1.7f7d1cp-20f
#define LN2_HI 0x1.62e43p-1f
#define LN2_LO -0x1.05c61p-29f
#define THREE_QUARTERS_INV 0x1.555556p+0f

/* -- SLEEF's expf and logf --------------------------------------------------------------------- */

INLINE float
pow2i(int32_t k)
{
    /* 2**k for -126 <= k <= 127, from the exponent bits (SLEEF's vpow2i) */
    union { int32_t i; float f; } bits = {.i = (k + 127) << 23};
    return bits.f;
}

/* SLEEF's xexpf: a reduction by ln 2 in two parts, a degree-6 polynomial in fused
 * multiply-adds, and a scaling by 2**q in two factors (neither overflows on its own). Written
 * without branches so that the loops around it are vectorised. */
INLINE float
sleef_expf(float d)
{
    /* the computation runs on d clamped to [-104, 100] (nan to -104: no undefined conversion
     * to int); outside that range the result is replaced below, as SLEEF does */
    float dc = d >= -104.0f ? d : -104.0f;
    dc = dc <= 100.0f ? dc : 100.0f;
    float qf = rintf(dc * R_LN2);
    int32_t q = (int32_t)qf;
    float s = fmaf(qf, -L2U, dc);
    s = fmaf(qf, -L2L, s);
    float u = 0x1.a057b4p-13f;
    u = fmaf(u, s, 0x1.6d2d92p-10f);
    u = fmaf(u, s, 0x1.11114cp-7f);
    u = fmaf(u, s, 0x1.5554f4p-5f);
    u = fmaf(u, s, 0x1.555556p-3f);
    u = fmaf(u, s, 0x1p-1f);
    u = 1.0f + fmaf(s * s, u, s);
    int32_t half = q >> 1;
    u = (u * pow2i(half)) * pow2i(q - half);
    u = d < -104.0f ? 0.0f : u;
    u = d > 100.0f ? HUGE_VALF : u;
    return d == d ? u : d; /* nan stays nan */
}

/* SLEEF's dfadd2_vf2_vf_vf: x + y as a float pair (sum, rounding error) */
INLINE void
two_sum(float x, float y, float *sum, float *err)
{
    float s = x + y;
    float v = s - x;
    *sum = s;
    *err = (x - (s - v)) + (y - v);
}

/* SLEEF's xlogf_u1 as built for AVX-512: the exponent and the mantissa in [0.75, 1.5) from
 * getexp/getmant, log((m-1)/(m+1)) in double-float arithmetic with a degree-3 polynomial. */
INLINE float
sleef_logf(float d)
{
    if (d == 0.0f)
        return -HUGE_VALF;
    if (d == HUGE_VALF)
        return HUGE_VALF;
    if (d < 0.0f || d != d)
        return NAN;
    /* getexp(d / 0.75) and frexp's fraction of d, in [0.5, 1): from the bits for a normal d
     * (whose d / 0.75 is normal too, or inf), with frexpf for a denormal or an inf product */
    float e, frac, scaled = d * THREE_QUARTERS_INV;
    union { float f; uint32_t u; } bits = {.f = d}, scaled_bits = {.f = scaled};
    if ((bits.u >> 23) != 0 && scaled != HUGE_VALF) {
        e = (float)((int32_t)(scaled_bits.u >> 23) - 127);
        bits.u = (bits.u & 0x007fffffu) | 0x3f000000u;
        frac = bits.f;
    } else {
        int exponent;
        frexpf(scaled, &exponent);
        e = (float)(exponent - 1);
        frac = frexpf(d, &exponent);
    }
    float m = frac >= 0.75f ? frac : frac * 2.0f; /* getmant */
    /* s = ln 2 * e in double-float */
    float sx = LN2_HI * e;
    float sy = fmaf(LN2_LO, e, fmaf(LN2_HI, e, -sx));
    /* x = (m - 1) / (m + 1) in double-float */
    float nx, ny, dx, dy;
    two_sum(-1.0f, m, &nx, &ny);
    two_sum(1.0f, m, &dx, &dy);
    float t = 1.0f / dx;
    float xx = nx * t;
    float u = fmaf(t, nx, -xx);
    float v = fmaf(-dy, t, fmaf(-dx, t, 1.0f));
    float xy = fmaf(xx, v, fmaf(ny, t, u));
    float x2 = xx * xx;
    float poly = fmaf(fmaf(0x1.35feb8p-2f, x2, 0x1.993394p-2f), x2, 0x1.5555b4p-1f);
    /* s + 2x, then + x**3 * poly, each a double-float addition */
    float hi = sx + xx * 2.0f;
    float lo = (((sx - hi) + xx * 2.0f) + sy) + xy * 2.0f;
    float cube = (x2 * xx) * poly;
    float top = hi + cube;
    lo = ((hi - top) + cube) + lo;
    return top + lo;
}

/* -- sums in PyTorch's lane order -------------------------------------------------------------- */

#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define VECTOR_TREE 1
#endif
#endif

#ifdef VECTOR_TREE
#if defined(__GNUC__) && !defined(__clang__)
/* (the helpers below are always inlined: no vector crosses a call, whatever the ABI says) */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
/* the 16 partial sums in a vector (GCC's and clang's vector extension), so that the tree's
 * additions stay in registers instead of going through memory lane by lane */
typedef float v16sf __attribute__((vector_size(64)));
typedef float v8sf __attribute__((vector_size(32)));
typedef float v4sf __attribute__((vector_size(16)));

INLINE v16sf
load16(const float *p)
{
    v16sf v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE float
lane_tree(v16sf acc)
{
    v8sf half = __builtin_shufflevector(acc, acc, 0, 1, 2, 3, 4, 5, 6, 7) +
                __builtin_shufflevector(acc, acc, 8, 9, 10, 11, 12, 13, 14, 15);
    v4sf quarter = __builtin_shufflevector(half, half, 0, 1, 2, 3) +
                   __builtin_shufflevector(half, half, 4, 5, 6, 7);
    float first = quarter[0] + quarter[2], second = quarter[1] + quarter[3];
    return first + second;
}
#endif

/* `vec::reduce_all` of a row: 16 partial sums, whole vectors added one after another, the last
 * partial vector into the first lanes, then lane i plus lane i + width/2 down to one. A row
 * shorter than a vector is summed left to right. With `y` (not NULL) the row is a[j] = x[j] * y[j]
 * (`vec::map2_reduce_all`): the whole vectors' products rounded before they are added, the
 * last partial vector's fused into its addition if `fused` (PyTorch on one thread), else
 * rounded too. */
/* the pairwise tree over 16 partial sums: lane i plus lane i + width/2, down to one */
INLINE float
tree_sum(const float *acc)
{
#ifdef VECTOR_TREE
    return lane_tree(load16(acc));
#else
    float lanes[LANES];
    memcpy(lanes, acc, sizeof lanes);
    for (int width = LANES / 2; width >= 1; width /= 2)
        for (int lane = 0; lane < width; lane++)
            lanes[lane] = lanes[lane] + lanes[lane + width];
    return lanes[0];
#endif
}

INLINE float
lane_sum_row(const float *restrict x, const float *restrict y, Py_ssize_t c, int fused)
{
    if (c == 0)
        return 0.0f;
    if (c < LANES) {
        float total = y ? x[0] * y[0] : x[0];
        for (Py_ssize_t j = 1; j < c; j++)
            total += y ? x[j] * y[j] : x[j];
        return total;
    }
    Py_ssize_t whole = c - c % LANES;
#ifdef VECTOR_TREE
    v16sf acc = y ? load16(x) * load16(y) : load16(x);
    for (Py_ssize_t start = LANES; start < whole; start += LANES)
        acc += y ? load16(x + start) * load16(y + start) : load16(x + start);
    for (Py_ssize_t lane = 0; lane < c - whole; lane++)
        acc[lane] = !y      ? acc[lane] + x[whole + lane]
                    : fused ? fmaf(x[whole + lane], y[whole + lane], acc[lane])
                            : acc[lane] + x[whole + lane] * y[whole + lane];
    return lane_tree(acc);
#else
    float acc[LANES];
    for (int lane = 0; lane < LANES; lane++)
        acc[lane] = y ? x[lane] * y[lane] : x[lane];
    for (Py_ssize_t start = LANES; start < whole; start += LANES)
        for (int lane = 0; lane < LANES; lane++)
            acc[lane] += y ? x[start + lane] * y[start + lane] : x[start + lane];
    for (Py_ssize_t lane = 0; lane < c - whole; lane++)
        acc[lane] = !y      ? acc[lane] + x[whole + lane]
                    : fused ? fmaf(x[whole + lane], y[whole + lane], acc[lane])
                            : acc[lane] + x[whole + lane] * y[whole + lane];
    for (int width = LANES / 2; width >= 1; width /= 2)
        for (int lane = 0; lane < width; lane++)
            acc[lane] = acc[lane] + acc[lane + width];
    return acc[0];
#endif
}

/* the row maximum; nan wins, as in PyTorch's vec::maximum (the order of the comparisons does
 * not matter: only -0.0 and 0.0 tie, and x - max is then the same for every other element) */
INLINE float
row_max(const float *restrict x, Py_ssize_t c)
{
    float m = x[0];
    int nan = 0;
    if (c >= LANES) { /* 16 running maxima (independent: vectorised), then a tree over them */
        float acc[LANES];
        Py_ssize_t whole = c - c % LANES;
        for (int lane = 0; lane < LANES; lane++)
            acc[lane] = x[lane];
        for (Py_ssize_t start = LANES; start < whole; start += LANES)
            for (int lane = 0; lane < LANES; lane++)
                acc[lane] = x[start + lane] > acc[lane] ? x[start + lane] : acc[lane];
        for (Py_ssize_t lane = 0; lane < c - whole; lane++)
            acc[lane] = x[whole + lane] > acc[lane] ? x[whole + lane] : acc[lane];
        for (int width = LANES / 2; width >= 1; width /= 2)
            for (int lane = 0; lane < width; lane++)
                acc[lane] = acc[lane + width] > acc[lane] ? acc[lane + width] : acc[lane];
        m = acc[0];
    } else {
        for (Py_ssize_t j = 1; j < c; j++)
            m = x[j] > m ? x[j] : m;
    }
    for (Py_ssize_t j = 0; j < c; j++)
        nan |= x[j] != x[j];
    return nan ? NAN : m;
}

/* -- the kernels, on whole (n, c) arrays ------------------------------------------------------- */

ELEMENT_LOOP static void
expf_array(const float *restrict x, float *restrict out, Py_ssize_t size)
{
    for (Py_ssize_t i = 0; i < size; i++)
        out[i] = sleef_expf(x[i]);
}

ELEMENT_LOOP static void
logf_array(const float *restrict x, float *restrict out, Py_ssize_t size)
{
    for (Py_ssize_t i = 0; i < size; i++)
        out[i] = sleef_logf(x[i]);
}

/* out[j] = expf(x[j] - m) along a row, and their lane sum, added up as they are made (reading
 * them back right after the vector stores that wrote them stalls the processor) */
INLINE float
exp_row_sum(const float *restrict x, float m, float *restrict out, Py_ssize_t c)
{
    if (c < LANES) {
        for (Py_ssize_t j = 0; j < c; j++)
            out[j] = sleef_expf(x[j] - m);
        return lane_sum_row(out, NULL, c, 0);
    }
    float acc[LANES];
    Py_ssize_t whole = c - c % LANES;
    for (int lane = 0; lane < LANES; lane++)
        acc[lane] = out[lane] = sleef_expf(x[lane] - m);
    for (Py_ssize_t start = LANES; start < whole; start += LANES)
        for (int lane = 0; lane < LANES; lane++) {
            float e = sleef_expf(x[start + lane] - m);
            out[start + lane] = e;
            acc[lane] += e;
        }
    for (Py_ssize_t lane = 0; lane < c - whole; lane++) {
        float e = sleef_expf(x[whole + lane] - m);
        out[whole + lane] = e;
        acc[lane] += e;
    }
    return tree_sum(acc);
}

/* Rows are taken in blocks: first each row's exponentials and sum, then each row's scaling,
 * so that one row's division (or logarithm) overlaps the next row's work instead of waiting. */
#define BLOCK_ROWS 64

ELEMENT_LOOP static void
log_softmax_rows(const float *restrict x, float *restrict out, Py_ssize_t n, Py_ssize_t c)
{
    float shift[BLOCK_ROWS], log_sum[BLOCK_ROWS];
    for (Py_ssize_t first = 0; first < n && c > 0; first += BLOCK_ROWS) {
        Py_ssize_t rows = n - first < BLOCK_ROWS ? n - first : BLOCK_ROWS;
        const float *row = x + first * c;
        float *row_out = out + first * c;
        for (Py_ssize_t i = 0; i < rows; i++) {
            shift[i] = row_max(row + i * c, c);
            log_sum[i] = sleef_logf(exp_row_sum(row + i * c, shift[i], row_out + i * c, c));
        }
        for (Py_ssize_t i = 0; i < rows; i++)
            for (Py_ssize_t j = 0; j < c; j++)
                row_out[i * c + j] = (row[i * c + j] - shift[i]) - log_sum[i];
    }
}

ELEMENT_LOOP static void
softmax_rows(const float *restrict x, float *restrict out, Py_ssize_t n, Py_ssize_t c)
{
    float scale[BLOCK_ROWS];
    for (Py_ssize_t first = 0; first < n && c > 0; first += BLOCK_ROWS) {
        Py_ssize_t rows = n - first < BLOCK_ROWS ? n - first : BLOCK_ROWS;
        const float *row = x + first * c;
        float *row_out = out + first * c;
        for (Py_ssize_t i = 0; i < rows; i++) /* one reciprocal per row */
            scale[i] = 1.0f / exp_row_sum(row + i * c, row_max(row + i * c, c), row_out + i * c, c);
        for (Py_ssize_t i = 0; i < rows; i++)
            for (Py_ssize_t j = 0; j < c; j++)
                row_out[i * c + j] *= scale[i];
    }
}

/* d log_softmax: g - exp(out) * sum(g), the product and the difference rounded once (FMA) */
ELEMENT_LOOP static void
log_softmax_backward_rows(const float *restrict g, const float *restrict y, float *restrict grad,
                          Py_ssize_t n, Py_ssize_t c)
{
    float total[BLOCK_ROWS]; /* (in blocks of rows: see log_softmax_rows) */
    for (Py_ssize_t first = 0; first < n; first += BLOCK_ROWS) {
        Py_ssize_t rows = n - first < BLOCK_ROWS ? n - first : BLOCK_ROWS, at = first * c;
        for (Py_ssize_t i = 0; i < rows; i++)
            total[i] = lane_sum_row(g + at + i * c, NULL, c, 0);
        for (Py_ssize_t i = 0; i < rows; i++)
            for (Py_ssize_t j = at + i * c; j < at + (i + 1) * c; j++)
                grad[j] = fmaf(-sleef_expf(y[j]), total[i], g[j]);
    }
}

/* d softmax: (g - sum(g * out)) * out; `fused`: the sum's last partial vector fused (PyTorch on
 * one thread) */
ELEMENT_LOOP static void
softmax_backward_rows(const float *restrict g, const float *restrict y, float *restrict grad,
                      Py_ssize_t n, Py_ssize_t c, int fused)
{
    float total[BLOCK_ROWS];
    for (Py_ssize_t first = 0; first < n; first += BLOCK_ROWS) {
        Py_ssize_t rows = n - first < BLOCK_ROWS ? n - first : BLOCK_ROWS, at = first * c;
        for (Py_ssize_t i = 0; i < rows; i++)
            total[i] = lane_sum_row(g + at + i * c, y + at + i * c, c, fused);
        for (Py_ssize_t i = 0; i < rows; i++)
            for (Py_ssize_t j = at + i * c; j < at + (i + 1) * c; j++)
                grad[j] = (g[j] - total[i]) * y[j];
    }
}

/* log_softmax's backward of nll_loss's mean gradient (one nonzero v per counted row, at its
 * label): the row's lane sum is v (+0 added: a -0 among +0s sums to +0) and each element is
 * fma(-exp(logp), sum, v or 0). */
ELEMENT_LOOP static void
cross_entropy_backward_rows(const float *restrict logp, const int64_t *restrict labels, float v,
                            float *restrict grad, Py_ssize_t n, Py_ssize_t c)
{
    for (Py_ssize_t i = 0; i < n; i++, logp += c, grad += c) {
        int64_t label = labels[i];
        float total = label < 0 ? 0.0f : (c > 1 ? v + 0.0f : v);
        for (Py_ssize_t j = 0; j < c; j++)
            grad[j] = fmaf(-sleef_expf(logp[j]), total, 0.0f);
        if (label >= 0)
            grad[label] = fmaf(-sleef_expf(logp[label]), total, v);
    }
}

/* -- buffers ----------------------------------------------------------------------------------- */

static int
format_is(const char *format, const char *codes)
{
    if (format == NULL)
        return 0;
    if (*format == '<' || *format == '=' || *format == '@')
        format++;
    return format[0] != '\0' && format[1] == '\0' && strchr(codes, format[0]) != NULL;
}

/* A C-contiguous buffer of `itemsize`-byte items of one of the format `codes`, with `ndim`
 * dimensions (-1: any). Raises TypeError or ValueError naming `what` otherwise. */
static int
get_buffer(PyObject *obj, Py_buffer *view, int writable, const char *codes, Py_ssize_t itemsize,
           int ndim, const char *what)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    if (view->itemsize != itemsize || !format_is(view->format, codes)) {
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous %s array, got format '%s'",
                     what, itemsize == 4 ? "float32" : "int64", view->format ? view->format : "?");
        PyBuffer_Release(view);
        return -1;
    }
    if (ndim >= 0 && view->ndim != ndim) {
        PyErr_Format(PyExc_ValueError, "%s: expected %d dimensions, got %d", what, ndim,
                     view->ndim);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* Whether two buffers share memory: the kernels read their inputs after writing their output
 * (and are compiled on the promise that they do not alias), so an output must be separate. */
static int
overlapping(Py_buffer *out, Py_buffer *in, const char *what)
{
    const char *a = out->buf, *b = in->buf;
    if (out->len == 0 || in->len == 0 || a + out->len <= b || b + in->len <= a)
        return 0;
    PyErr_Format(PyExc_ValueError, "%s: the output must not share memory with an input", what);
    return -1;
}

#define FLOAT32 "f", 4
#define INT64 "lq", 8

static int
same_shape(Py_buffer *a, Py_buffer *b, const char *what)
{
    if (a->ndim == b->ndim && memcmp(a->shape, b->shape, a->ndim * sizeof(Py_ssize_t)) == 0)
        return 0;
    PyErr_Format(PyExc_ValueError, "%s: the arrays' shapes differ", what);
    return -1;
}

static int
check_args(Py_ssize_t nargs, Py_ssize_t low, Py_ssize_t high, const char *name)
{
    if (nargs >= low && nargs <= high)
        return 0;
    PyErr_Format(PyExc_TypeError, "%s() takes %zd to %zd arguments (%zd given)", name, low, high,
                 nargs);
    return -1;
}

/* -- the module's functions -------------------------------------------------------------------- */

typedef void (*RowKernel)(const float *, float *, Py_ssize_t, Py_ssize_t);

static PyObject *
rows_call(PyObject *const *args, Py_ssize_t nargs, RowKernel kernel, const char *name)
{
    Py_buffer x, out;
    if (check_args(nargs, 2, 2, name) < 0 || get_buffer(args[0], &x, 0, FLOAT32, 2, name) < 0)
        return NULL;
    if (get_buffer(args[1], &out, 1, FLOAT32, 2, name) < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    if (same_shape(&x, &out, name) == 0 && overlapping(&out, &x, name) == 0)
        kernel(x.buf, out.buf, x.shape[0], x.shape[1]);
    PyBuffer_Release(&x);
    PyBuffer_Release(&out);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
py_log_softmax(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return rows_call(args, nargs, log_softmax_rows, "log_softmax");
}

static PyObject *
py_softmax(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return rows_call(args, nargs, softmax_rows, "softmax");
}

/* g, out (the forward's output), grad [, fused]: three (n, c) buffers */
static PyObject *
backward_call(PyObject *const *args, Py_ssize_t nargs, int softmax, const char *name)
{
    Py_buffer g, y, grad;
    int fused = 0;
    if (check_args(nargs, 3, softmax ? 4 : 3, name) < 0)
        return NULL;
    if (nargs == 4 && (fused = PyObject_IsTrue(args[3])) < 0)
        return NULL;
    if (get_buffer(args[0], &g, 0, FLOAT32, 2, name) < 0)
        return NULL;
    if (get_buffer(args[1], &y, 0, FLOAT32, 2, name) < 0) {
        PyBuffer_Release(&g);
        return NULL;
    }
    if (get_buffer(args[2], &grad, 1, FLOAT32, 2, name) < 0) {
        PyBuffer_Release(&g);
        PyBuffer_Release(&y);
        return NULL;
    }
    if (same_shape(&g, &y, name) == 0 && same_shape(&g, &grad, name) == 0 &&
        overlapping(&grad, &g, name) == 0 && overlapping(&grad, &y, name) == 0) {
        if (softmax)
            softmax_backward_rows(g.buf, y.buf, grad.buf, g.shape[0], g.shape[1], fused);
        else
            log_softmax_backward_rows(g.buf, y.buf, grad.buf, g.shape[0], g.shape[1]);
    }
    PyBuffer_Release(&g);
    PyBuffer_Release(&y);
    PyBuffer_Release(&grad);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
py_log_softmax_backward(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return backward_call(args, nargs, 0, "log_softmax_backward");
}

static PyObject *
py_softmax_backward(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return backward_call(args, nargs, 1, "softmax_backward");
}

/* expf_u10(x, out) / logf_u10(x, out): element by element, any shape */
static PyObject *
elementwise_call(PyObject *const *args, Py_ssize_t nargs, int is_exp, const char *name)
{
    Py_buffer x, out;
    if (check_args(nargs, 2, 2, name) < 0 || get_buffer(args[0], &x, 0, FLOAT32, -1, name) < 0)
        return NULL;
    if (get_buffer(args[1], &out, 1, FLOAT32, -1, name) < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    if (x.len != out.len)
        PyErr_Format(PyExc_ValueError, "%s: the arrays' sizes differ", name);
    else if (overlapping(&out, &x, name) == 0)
        (is_exp ? expf_array : logf_array)(x.buf, out.buf, x.len / 4);
    PyBuffer_Release(&x);
    PyBuffer_Release(&out);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
py_expf_u10(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return elementwise_call(args, nargs, 1, "expf_u10");
}

static PyObject *
py_logf_u10(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return elementwise_call(args, nargs, 0, "logf_u10");
}

/* lane_sum(a, out[, y]): out[i] = the lane sum of row i of a (n, c); with y, of a * y with the
 * last partial vector's products fused */
static PyObject *
py_lane_sum(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer a, out, y = {0};
    int has_y = nargs == 3 && args[2] != Py_None;
    if (check_args(nargs, 2, 3, "lane_sum") < 0)
        return NULL;
    if (get_buffer(args[0], &a, 0, FLOAT32, 2, "lane_sum") < 0)
        return NULL;
    if (get_buffer(args[1], &out, 1, FLOAT32, 1, "lane_sum") < 0) {
        PyBuffer_Release(&a);
        return NULL;
    }
    if (has_y && get_buffer(args[2], &y, 0, FLOAT32, 2, "lane_sum") < 0) {
        PyBuffer_Release(&a);
        PyBuffer_Release(&out);
        return NULL;
    }
    int fits = out.shape[0] == a.shape[0];
    if (!fits)
        PyErr_SetString(PyExc_ValueError, "lane_sum: out needs one element per row");
    else if (has_y)
        fits = same_shape(&a, &y, "lane_sum") == 0 && overlapping(&out, &y, "lane_sum") == 0;
    if (fits && overlapping(&out, &a, "lane_sum") == 0) {
        Py_ssize_t n = a.shape[0], c = a.shape[1];
        const float *rows = a.buf, *factors = has_y ? y.buf : NULL;
        float *sums = out.buf;
        for (Py_ssize_t i = 0; i < n; i++)
            sums[i] = lane_sum_row(rows + i * c, factors ? factors + i * c : NULL, c, 1);
    }
    PyBuffer_Release(&a);
    PyBuffer_Release(&out);
    if (has_y)
        PyBuffer_Release(&y);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* nll_loss's reductions, as its codes in PyTorch */
enum { REDUCE_NONE = 0, REDUCE_MEAN = 1, REDUCE_SUM = 2 };

/* A target outside 0..c-1 (and not the ignored index): IndexError naming it (the callers check
 * targets first; this keeps every read inside the array whatever they pass). */
static int
check_targets(const int64_t *target, Py_ssize_t n, Py_ssize_t c, int64_t ignore)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if (target[i] != ignore && (target[i] < 0 || target[i] >= c)) {
            PyErr_Format(PyExc_IndexError, "Target %lld is out of bounds.", (long long)target[i]);
            return -1;
        }
    return 0;
}

/* nll_loss(logp (n, c), target (n,) int64, weight (c,) or None, ignore, reduction, out)
 *   -> (loss, total weight) as floats; with reduction 'none' (0) the per-row losses go to
 *   `out` (n,) and the result is (0, 0). PyTorch's loop (LossNLL.cpp): each counted row's
 *   -logp[label] * weight subtracted from level 0 of 8 partial sums; after row b, while b is a
 *   multiple of 16**(j+1), level j is added into level j+1 and cleared; then the levels are
 *   added from 0 to 7 and divided by the count of rows (or their total weight) for 'mean'. */
static PyObject *
py_nll_loss(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer logp, target, weight = {0}, out = {0};
    long long ignore;
    int reduction, has_weight, has_out;
    PyObject *result = NULL;
    if (check_args(nargs, 6, 6, "nll_loss") < 0)
        return NULL;
    ignore = PyLong_AsLongLong(args[3]);
    reduction = PyLong_AsLong(args[4]);
    if (PyErr_Occurred())
        return NULL;
    has_weight = args[2] != Py_None;
    has_out = args[5] != Py_None;
    if (get_buffer(args[0], &logp, 0, FLOAT32, 2, "nll_loss") < 0)
        return NULL;
    if (get_buffer(args[1], &target, 0, INT64, 1, "nll_loss target") < 0)
        goto release_logp;
    if (has_weight && get_buffer(args[2], &weight, 0, FLOAT32, 1, "nll_loss weight") < 0)
        goto release_target;
    if (has_out && get_buffer(args[5], &out, 1, FLOAT32, 1, "nll_loss out") < 0)
        goto release_weight;

    Py_ssize_t n = logp.shape[0], c = logp.shape[1];
    const float *x = logp.buf, *w = has_weight ? weight.buf : NULL;
    const int64_t *y = target.buf;
    if (target.shape[0] != n || (has_weight && weight.shape[0] != c) ||
        (reduction == REDUCE_NONE && (!has_out || out.shape[0] != n))) {
        PyErr_SetString(PyExc_ValueError, "nll_loss: the arrays' shapes do not fit");
        goto release_out;
    }
    if (check_targets(y, n, c, ignore) < 0)
        goto release_out;
    if (reduction == REDUCE_NONE) {
        float *losses = out.buf;
        for (Py_ssize_t i = 0; i < n; i++)
            losses[i] = y[i] == ignore ? 0.0f : -x[i * c + y[i]] * (w ? w[y[i]] : 1.0f);
        result = Py_BuildValue("(dd)", 0.0, 0.0);
        goto release_out;
    }
    float loss_sums[CASCADE_LEVELS] = {0}, weight_sums[CASCADE_LEVELS] = {0};
    Py_ssize_t counted = 0;
    for (Py_ssize_t b = 0; b < n; b++) {
        if (y[b] == ignore)
            continue;
        counted++;
        float picked = x[b * c + y[b]];
        if (w) {
            loss_sums[0] -= picked * w[y[b]];
            weight_sums[0] += w[y[b]];
        } else {
            loss_sums[0] -= picked;
        }
        for (int j = 0; j + 1 < CASCADE_LEVELS; j++) {
            uint64_t mask = ((uint64_t)1 << (LEVEL_BITS * (j + 1))) - 1;
            if (((uint64_t)b & mask) != 0)
                break;
            weight_sums[j + 1] += weight_sums[j];
            loss_sums[j + 1] += loss_sums[j];
            weight_sums[j] = 0.0f;
            loss_sums[j] = 0.0f;
        }
    }
    float loss = 0.0f, total_weight = 0.0f;
    for (int j = 0; j < CASCADE_LEVELS; j++) {
        loss += loss_sums[j];
        total_weight += weight_sums[j];
    }
    if (!w)
        total_weight = (float)counted;
    if (reduction == REDUCE_MEAN)
        loss = n == 0 ? NAN : loss / total_weight;
    result = Py_BuildValue("(dd)", (double)loss, (double)total_weight);

release_out:
    if (has_out)
        PyBuffer_Release(&out);
release_weight:
    if (has_weight)
        PyBuffer_Release(&weight);
release_target:
    PyBuffer_Release(&target);
release_logp:
    PyBuffer_Release(&logp);
    return result;
}

/* nll_loss_backward(grad (n, c), target, weight or None, ignore, reduction, g, total_weight):
 * grad is filled: zero, and at each counted row's label -weight * g (g a float, divided by the
 * total weight for 'mean'; for 'none' a float32 buffer of one value per row). */
static PyObject *
py_nll_loss_backward(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer grad, target, weight = {0}, gs = {0};
    long long ignore;
    int reduction, has_weight, per_row;
    float g = 0.0f, total_weight;
    PyObject *result = NULL;
    if (check_args(nargs, 7, 7, "nll_loss_backward") < 0)
        return NULL;
    ignore = PyLong_AsLongLong(args[3]);
    reduction = PyLong_AsLong(args[4]);
    total_weight = (float)PyFloat_AsDouble(args[6]);
    per_row = reduction == REDUCE_NONE;
    if (!per_row)
        g = (float)PyFloat_AsDouble(args[5]);
    if (PyErr_Occurred())
        return NULL;
    has_weight = args[2] != Py_None;
    if (get_buffer(args[0], &grad, 1, FLOAT32, 2, "nll_loss_backward") < 0)
        return NULL;
    if (get_buffer(args[1], &target, 0, INT64, 1, "nll_loss_backward target") < 0)
        goto release_grad;
    if (has_weight && get_buffer(args[2], &weight, 0, FLOAT32, 1, "nll_loss_backward weight") < 0)
        goto release_target;
    if (per_row && get_buffer(args[5], &gs, 0, FLOAT32, 1, "nll_loss_backward g") < 0)
        goto release_weight;

    Py_ssize_t n = grad.shape[0], c = grad.shape[1];
    const float *w = has_weight ? weight.buf : NULL, *g_rows = per_row ? gs.buf : NULL;
    const int64_t *y = target.buf;
    if (target.shape[0] != n || (has_weight && weight.shape[0] != c) ||
        (per_row && gs.shape[0] != n)) {
        PyErr_SetString(PyExc_ValueError, "nll_loss_backward: the arrays' shapes do not fit");
        goto release_g;
    }
    if (check_targets(y, n, c, ignore) < 0)
        goto release_g;
    float *out = grad.buf;
    memset(out, 0, (size_t)n * (size_t)c * sizeof(float));
    float scale = reduction == REDUCE_MEAN ? -(g / total_weight) : -g;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (y[i] == ignore)
            continue;
        if (per_row)
            out[i * c + y[i]] = (w ? -w[y[i]] : -1.0f) * g_rows[i];
        else
            out[i * c + y[i]] = w ? w[y[i]] * scale : scale;
    }
    Py_INCREF(Py_None);
    result = Py_None;

release_g:
    if (per_row)
        PyBuffer_Release(&gs);
release_weight:
    if (has_weight)
        PyBuffer_Release(&weight);
release_target:
    PyBuffer_Release(&target);
release_grad:
    PyBuffer_Release(&grad);
    return result;
}

/* cross_entropy_backward(g, logp (n, c), labels (n,) int64 with -1 on ignored rows,
 * total_weight, grad (n, c)): log_softmax's backward of nll_loss's mean gradient */
static PyObject *
py_cross_entropy_backward(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer logp, labels, grad;
    PyObject *result = NULL;
    if (check_args(nargs, 5, 5, "cross_entropy_backward") < 0)
        return NULL;
    float g = (float)PyFloat_AsDouble(args[0]);
    float total_weight = (float)PyFloat_AsDouble(args[3]);
    if (PyErr_Occurred())
        return NULL;
    if (get_buffer(args[1], &logp, 0, FLOAT32, 2, "cross_entropy_backward") < 0)
        return NULL;
    if (get_buffer(args[2], &labels, 0, INT64, 1, "cross_entropy_backward labels") < 0)
        goto release_logp;
    if (get_buffer(args[4], &grad, 1, FLOAT32, 2, "cross_entropy_backward grad") < 0)
        goto release_labels;
    Py_ssize_t n = logp.shape[0], c = logp.shape[1];
    if (labels.shape[0] != n || same_shape(&logp, &grad, "cross_entropy_backward") < 0 ||
        overlapping(&grad, &logp, "cross_entropy_backward") < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "cross_entropy_backward: one label per row");
        goto release_grad;
    }
    if (check_targets(labels.buf, n, c, -1) < 0)
        goto release_grad;
    cross_entropy_backward_rows(logp.buf, labels.buf, -(g / total_weight), grad.buf, n, c);
    Py_INCREF(Py_None);
    result = Py_None;

release_grad:
    PyBuffer_Release(&grad);
release_labels:
    PyBuffer_Release(&labels);
release_logp:
    PyBuffer_Release(&logp);
    return result;
}

static PyMethodDef csoftmax_methods[] = {
    {"log_softmax", (PyCFunction)(void (*)(void))py_log_softmax, METH_FASTCALL,
     "log_softmax(x, out): log_softmax of each row of x (n, c) into out (float32 buffers)."},
    {"softmax", (PyCFunction)(void (*)(void))py_softmax, METH_FASTCALL,
     "softmax(x, out): softmax of each row of x (n, c) into out."},
    {"log_softmax_backward", (PyCFunction)(void (*)(void))py_log_softmax_backward, METH_FASTCALL,
     "log_softmax_backward(g, out, grad): g - exp(out) * rowsum(g) into grad."},
    {"softmax_backward", (PyCFunction)(void (*)(void))py_softmax_backward, METH_FASTCALL,
     "softmax_backward(g, out, grad, fused): (g - rowsum(g * out)) * out into grad."},
    {"expf_u10", (PyCFunction)(void (*)(void))py_expf_u10, METH_FASTCALL,
     "expf_u10(x, out): SLEEF's float32 expf (u10) of each element."},
    {"logf_u10", (PyCFunction)(void (*)(void))py_logf_u10, METH_FASTCALL,
     "logf_u10(x, out): SLEEF's float32 logf (u10, AVX-512 build) of each element."},
    {"lane_sum", (PyCFunction)(void (*)(void))py_lane_sum, METH_FASTCALL,
     "lane_sum(a, out, y=None): each row's sum in PyTorch's 16-lane order into out."},
    {"nll_loss", (PyCFunction)(void (*)(void))py_nll_loss, METH_FASTCALL,
     "nll_loss(logp, target, weight, ignore, reduction, out) -> (loss, total_weight)."},
    {"nll_loss_backward", (PyCFunction)(void (*)(void))py_nll_loss_backward, METH_FASTCALL,
     "nll_loss_backward(grad, target, weight, ignore, reduction, g, total_weight)."},
    {"cross_entropy_backward", (PyCFunction)(void (*)(void))py_cross_entropy_backward,
     METH_FASTCALL, "cross_entropy_backward(g, logp, labels, total_weight, grad)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef csoftmax_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "micrograd.tensor._csoftmax",
    .m_doc = "PyTorch's float32 softmax, log_softmax and nll_loss kernels in C (see "
             "_csoftmax.c; _softmax32.py is the numpy twin).",
    .m_size = -1,
    .m_methods = csoftmax_methods,
};

PyMODINIT_FUNC
PyInit__csoftmax(void)
{
    return PyModule_Create(&csoftmax_module);
}
