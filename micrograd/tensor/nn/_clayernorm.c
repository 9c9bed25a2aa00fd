/* micrograd.tensor.nn._clayernorm: PyTorch's CPU layer_norm, forward and backward, in C.
 *
 * The compiled twin of micrograd/tensor/nn/_layernorm.py, which documents the arithmetic (the
 * Welford statistics of PyTorch's kernel, its fused multiply-adds, its order of sums) and
 * replays it with numpy; this module performs the same operations in the same order, on one
 * row after another, and gives the same bits (the tests compare the two, and both with
 * PyTorch). The kernels are in _clayernorm_kernels.h, included once per float type; on x86-64
 * they are compiled a second time for CPUs with FMA instructions and picked at import, so that
 * fmaf is one instruction there and a library call elsewhere (the same result either way).
 *
 * The arrays come in through the buffer protocol (C-contiguous float32 or float64 numpy
 * arrays, outputs allocated by the caller), so the module needs no numpy headers to build.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#define LN_CHUNK 16     /* whole vectors per Welford chunk (moments_utils.h's kChunkSize) */
#define LN_MAX_DEPTH 64 /* cascade levels: enough for any row length */

#define LN_T float
#define LN_LANES 8
#define LN_FMA fmaf
#define LN_SQRT sqrtf
#define LN_NAME(name) name##_f32
#include "_clayernorm_kernels.h"
#undef LN_T
#undef LN_LANES
#undef LN_FMA
#undef LN_SQRT
#undef LN_NAME

#define LN_T double
#define LN_LANES 4
#define LN_FMA fma
#define LN_SQRT sqrt
#define LN_NAME(name) name##_f64
#include "_clayernorm_kernels.h"
#undef LN_T
#undef LN_LANES
#undef LN_FMA
#undef LN_SQRT
#undef LN_NAME

#if defined(__GNUC__) && defined(__x86_64__)
#define LN_HAVE_FMA_BUILD 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define LN_T float
#define LN_LANES 8
#define LN_FMA fmaf
#define LN_SQRT sqrtf
#define LN_NAME(name) name##_f32_fma
#include "_clayernorm_kernels.h"
#undef LN_T
#undef LN_LANES
#undef LN_FMA
#undef LN_SQRT
#undef LN_NAME
#define LN_T double
#define LN_LANES 4
#define LN_FMA fma
#define LN_SQRT sqrt
#define LN_NAME(name) name##_f64_fma
#include "_clayernorm_kernels.h"
#undef LN_T
#undef LN_LANES
#undef LN_FMA
#undef LN_SQRT
#undef LN_NAME
#pragma GCC pop_options
#endif

typedef void (*forward_f32_t)(const float *, const float *, const float *, float, int64_t,
                              int64_t, float *, float *, float *);
typedef void (*forward_f64_t)(const double *, const double *, const double *, double, int64_t,
                              int64_t, double *, double *, double *);
typedef void (*backward_f32_t)(const float *, const float *, const float *, const float *,
                               const float *, int64_t, int64_t, int64_t, float *, float *,
                               float *, float *);
typedef void (*backward_f64_t)(const double *, const double *, const double *, const double *,
                               const double *, int64_t, int64_t, int64_t, double *, double *,
                               double *, double *);

static forward_f32_t forward_f32_impl = forward_f32;
static forward_f64_t forward_f64_impl = forward_f64;
static backward_f32_t backward_f32_impl = backward_f32;
static backward_f64_t backward_f64_impl = backward_f64;
static const char *variant = "generic";

/* -- arguments -------------------------------------------------------------------------------- */

typedef struct {
    Py_buffer views[9];
    int count;
} Buffers;

static void release(Buffers *held)
{
    for (int i = 0; i < held->count; i++)
        PyBuffer_Release(&held->views[i]);
    held->count = 0;
}

/* A C-contiguous float buffer of `items` values of `itemsize` bytes (items < 0: any count), or
 * NULL for None when `optional`. Returns 0 and sets an exception on a wrong argument. */
static int take(Buffers *held, PyObject *obj, const char *name, int writable, int optional,
                Py_ssize_t itemsize, Py_ssize_t items, void **data)
{
    *data = NULL;
    if (obj == Py_None && optional)
        return 1;
    Py_buffer *view = &held->views[held->count];
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return 0;
    held->count++;
    const char *format = view->format ? view->format : "B";
    if (*format == '=' || *format == '<' || *format == '@')
        format++;
    const char expected = itemsize == 4 ? 'f' : 'd';
    if (format[0] != expected || format[1] != '\0' || view->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "layer_norm kernel: %s must hold %s values", name,
                     itemsize == 4 ? "float32" : "float64");
        return 0;
    }
    if (items >= 0 && view->len / itemsize != items) {
        PyErr_Format(PyExc_ValueError, "layer_norm kernel: %s has %zd values, expected %zd", name,
                     view->len / itemsize, items);
        return 0;
    }
    *data = view->buf;
    return 1;
}

/* The float size (4 or 8) of a buffer, or 0 with an exception. */
static Py_ssize_t float_size(PyObject *obj)
{
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return 0;
    const char *format = view.format ? view.format : "B";
    if (*format == '=' || *format == '<' || *format == '@')
        format++;
    Py_ssize_t size = 0;
    if (strcmp(format, "f") == 0)
        size = 4;
    else if (strcmp(format, "d") == 0)
        size = 8;
    PyBuffer_Release(&view);
    if (!size)
        PyErr_SetString(PyExc_TypeError, "layer_norm kernel: rows must be float32 or float64");
    return size;
}

/* -- forward(x, weight, bias, eps, y, mean, rstd, rows, size) ---------------------------------- */

static PyObject *ln_forward(PyObject *self, PyObject *args)
{
    PyObject *x_obj, *w_obj, *b_obj, *y_obj, *mean_obj, *rstd_obj;
    double eps;
    Py_ssize_t rows, size;
    if (!PyArg_ParseTuple(args, "OOOdOOOnn:forward", &x_obj, &w_obj, &b_obj, &eps, &y_obj,
                          &mean_obj, &rstd_obj, &rows, &size))
        return NULL;
    if (rows < 0 || size < 0) {
        PyErr_SetString(PyExc_ValueError, "layer_norm kernel: negative row count or size");
        return NULL;
    }
    const Py_ssize_t item = float_size(x_obj);
    if (!item)
        return NULL;
    Buffers held = {.count = 0};
    void *x, *w, *b, *y, *mean, *rstd;
    if (!take(&held, x_obj, "rows", 0, 0, item, -1, &x))
        goto fail;
    const Py_ssize_t total = held.views[0].len / item;
    if (rows * size != total) {
        PyErr_SetString(PyExc_ValueError, "layer_norm kernel: rows do not have the given shape");
        goto fail;
    }
    if (!take(&held, w_obj, "weight", 0, 1, item, size, &w) ||
        !take(&held, b_obj, "bias", 0, 1, item, size, &b) ||
        !take(&held, y_obj, "y", 1, 0, item, total, &y) ||
        !take(&held, mean_obj, "mean", 1, 0, item, rows, &mean) ||
        !take(&held, rstd_obj, "rstd", 1, 0, item, rows, &rstd))
        goto fail;
    Py_BEGIN_ALLOW_THREADS;
    if (item == 4)
        forward_f32_impl(x, w, b, (float)eps, rows, size, y, mean, rstd);
    else
        forward_f64_impl(x, w, b, eps, rows, size, y, mean, rstd);
    Py_END_ALLOW_THREADS;
    release(&held);
    Py_RETURN_NONE;
fail:
    release(&held);
    return NULL;
}

/* -- backward(g, x, mean, rstd, weight, dx, dw, db, rows, size, threads) ----------------------- */

static PyObject *ln_backward(PyObject *self, PyObject *args)
{
    PyObject *g_obj, *x_obj, *mean_obj, *rstd_obj, *w_obj, *dx_obj, *dw_obj, *db_obj;
    Py_ssize_t rows, size, threads;
    if (!PyArg_ParseTuple(args, "OOOOOOOOnnn:backward", &g_obj, &x_obj, &mean_obj, &rstd_obj,
                          &w_obj, &dx_obj, &dw_obj, &db_obj, &rows, &size, &threads))
        return NULL;
    if (rows < 0 || size < 0) {
        PyErr_SetString(PyExc_ValueError, "layer_norm kernel: negative row count or size");
        return NULL;
    }
    const Py_ssize_t item = float_size(x_obj);
    if (!item)
        return NULL;
    Buffers held = {.count = 0};
    void *g, *x, *mean, *rstd, *w, *dx, *dw, *db;
    if (!take(&held, x_obj, "rows", 0, 0, item, -1, &x))
        goto fail;
    const Py_ssize_t total = held.views[0].len / item;
    if (rows * size != total) {
        PyErr_SetString(PyExc_ValueError, "layer_norm kernel: rows do not have the given shape");
        goto fail;
    }
    if (!take(&held, g_obj, "g", 0, 0, item, total, &g) ||
        !take(&held, mean_obj, "mean", 0, 0, item, rows, &mean) ||
        !take(&held, rstd_obj, "rstd", 0, 0, item, rows, &rstd) ||
        !take(&held, w_obj, "weight", 0, 1, item, size, &w) ||
        !take(&held, dx_obj, "dx", 1, 1, item, total, &dx) ||
        !take(&held, dw_obj, "dw", 1, 1, item, size, &dw) ||
        !take(&held, db_obj, "db", 1, 1, item, size, &db))
        goto fail;
    void *part = NULL;
    if (dw || db) {
        part = PyMem_RawCalloc(2 * (size_t)(size ? size : 1), (size_t)item);
        if (!part) {
            PyErr_NoMemory();
            goto fail;
        }
    }
    Py_BEGIN_ALLOW_THREADS;
    if (item == 4)
        backward_f32_impl(g, x, mean, rstd, w, rows, size, threads, dx, dw, db, part);
    else
        backward_f64_impl(g, x, mean, rstd, w, rows, size, threads, dx, dw, db, part);
    Py_END_ALLOW_THREADS;
    PyMem_RawFree(part);
    release(&held);
    Py_RETURN_NONE;
fail:
    release(&held);
    return NULL;
}

/* -- set_variant(name): the kernels compiled for FMA CPUs ("fma") or for any ("generic") ------- */

static PyObject *ln_set_variant(PyObject *self, PyObject *arg)
{
    const char *name = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    if (name && strcmp(name, "generic") == 0) {
        forward_f32_impl = forward_f32;
        forward_f64_impl = forward_f64;
        backward_f32_impl = backward_f32;
        backward_f64_impl = backward_f64;
        variant = "generic";
        Py_RETURN_NONE;
    }
#ifdef LN_HAVE_FMA_BUILD
    if (name && strcmp(name, "fma") == 0) {
        if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
            PyErr_SetString(PyExc_RuntimeError, "this CPU has no FMA instructions");
            return NULL;
        }
        forward_f32_impl = forward_f32_fma;
        forward_f64_impl = forward_f64_fma;
        backward_f32_impl = backward_f32_fma;
        backward_f64_impl = backward_f64_fma;
        variant = "fma";
        Py_RETURN_NONE;
    }
#endif
    if (!PyErr_Occurred())
        PyErr_Format(PyExc_ValueError, "no layer_norm kernel variant %R", arg);
    return NULL;
}

static PyObject *ln_get_variant(PyObject *self, PyObject *unused)
{
    return PyUnicode_FromString(variant);
}

static PyMethodDef methods[] = {
    {"set_variant", ln_set_variant, METH_O,
     "set_variant(name): run the kernels compiled for FMA CPUs ('fma') or for any ('generic')."},
    {"get_variant", ln_get_variant, METH_NOARGS, "get_variant(): the kernels in use."},
    {"forward", ln_forward, METH_VARARGS,
     "forward(x, weight, bias, eps, y, mean, rstd, rows, size): layer_norm of the rows of `size` "
     "values of x into y, with each row's mean and rstd (weight and bias may be None)."},
    {"backward", ln_backward, METH_VARARGS,
     "backward(g, x, mean, rstd, weight, dx, dw, db, rows, size, threads): layer_norm's gradients "
     "into dx, dw and db (each may be None: not computed)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "micrograd.tensor.nn._clayernorm",
    "PyTorch's CPU layer_norm, forward and backward, in C (see micrograd/tensor/nn/_layernorm.py).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__clayernorm(void)
{
#ifdef LN_HAVE_FMA_BUILD
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        forward_f32_impl = forward_f32_fma;
        forward_f64_impl = forward_f64_fma;
        backward_f32_impl = backward_f32_fma;
        backward_f64_impl = backward_f64_fma;
        variant = "fma";
    }
#endif
    return PyModule_Create(&module);
}
