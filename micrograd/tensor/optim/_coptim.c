/* micrograd.tensor.optim._coptim: Adam / AdamW and SGD updates in one pass over memory.
 *
 * torch's default CPU optimizers (`_single_tensor_adam`, `_single_tensor_sgd`) call one ATen
 * kernel per operation (lerp_, mul_, addcmul_, sqrt, div, add_, addcdiv_), each a full pass
 * over the parameter. The numpy twin of those kernels (optim/_kernels.py) replays the same
 * float32 operations, but numpy has no fused multiply-add, so each fused step is emulated
 * exactly in float64 (several more passes). Here each element is loaded once and goes through
 * the same operations in the same order, rounded where torch rounds:
 *
 *     Adam, per element (scalars rounded to the array's dtype first, as torch does):
 *     g = maximize ? -g : g
 *     p = p * (1 - lr*wd)                         AdamW's decoupled decay   (mul_)
 *     g = fma(p, wd, g)                           Adam's L2 decay           (add_, alpha)
 *     m = |w| < 0.5 ? fma(g - m, w, m)            lerp_(g, w = 1 - beta1): torch's formula
 *                   : fma(g - m, w - 1, g)        switches at 0.5 (exact at w = 1)
 *     v = fma((1 - beta2) * g, g, v * beta2)      mul_, then addcmul_
 *     vmax = max(vmax, v); v = vmax               amsgrad (numpy's maximum: NaN wins)
 *     p = p + (-step_size * m) / (sqrt(v) / sqrt(bias_correction2) + eps)    addcdiv_
 *
 *     SGD: g = maximize ? -g : g;  g = fma(p, wd, g);  buf = g on the first step, else
 *     fma(g, 1 - dampening, buf * momentum);  g = nesterov ? fma(buf, momentum, g) : buf;
 *     p = fma(g, -lr, p)
 *
 * Every fused multiply-add torch's kernels do is written as an explicit fma, and the module is
 * compiled with -ffp-contract=off so the compiler fuses nothing else: the results are the
 * same bits as the numpy path's (the tests compare both, and both against torch). The float32
 * loops run 8 lanes at a time with AVX2 and FMA when the CPU has them (checked at run time;
 * the build does not assume them); otherwise, and for float64, a plain loop does the same
 * operations one element at a time.
 *
 * torch's float32 sqrt on the CPU is Intel MKL's vector square root, which is within one unit
 * in the last place of the correctly rounded root (and not always equal to it); this module and
 * the numpy path use the correctly rounded one (documented in _kernels.py).
 *
 * Adam's step counts are float32 arrays incremented here, and each parameter's bias
 * corrections and step size are computed from its count in doubles with the C library's pow,
 * which is what torch's Python code computes (Python's float ** calls the same pow). Every
 * array must be contiguous, of the parameter's dtype and size; all are checked before any is
 * changed, so the caller can fall back to the numpy path after a ValueError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define HAVE_AVX2_PATH 1
#include <immintrin.h>
#endif

/* ---- the scalars of one update, per dtype --------------------------------------------- */

typedef struct {
    int decay_mode;   /* 0: none, 1: decoupled (p *= decay), 2: L2 (g += decay * p) */
    int maximize, amsgrad;
    double decay, w1, beta2, c2, bc2_sqrt, eps, neg_step_size;
} AdamScalars;

typedef struct {
    int maximize, nesterov, has_momentum, has_decay;
    double wd, momentum, damp1, neg_lr;
} SgdScalars;

/* ---- Adam -------------------------------------------------------------------------------- */

/* One element of Adam in float32. `static inline` so the AVX2 function's tail inlines it and
 * compiles its fmaf to the FMA instruction there. */
static inline void
adam_one_f32(float *p, const float *g_in, float *m, float *v, float *vmax, const AdamScalars *s)
{
    const float decay = (float)s->decay, w1 = (float)s->w1, beta2 = (float)s->beta2;
    const float c2 = (float)s->c2, bc2 = (float)s->bc2_sqrt, eps = (float)s->eps;
    const float nss = (float)s->neg_step_size;
    float g = s->maximize ? -*g_in : *g_in;
    float x = *p;
    if (s->decay_mode == 1)
        x = x * decay;
    else if (s->decay_mode == 2)
        g = fmaf(x, decay, g);
    float diff = g - *m;
    *m = fabsf(w1) < 0.5f ? fmaf(diff, w1, *m) : fmaf(diff, w1 - 1.0f, g);
    float vv = fmaf(c2 * g, g, *v * beta2);
    *v = vv;
    if (vmax) {
        float a = *vmax; /* numpy's maximum(vmax, v): vmax when vmax >= v or vmax is NaN */
        vv = (a >= vv || a != a) ? a : vv;
        *vmax = vv;
    }
    float denom = sqrtf(vv) / bc2 + eps;
    *p = x + (nss * *m) / denom;
}

static void
adam_f32_plain(float *p, const float *g, float *m, float *v, float *vmax, Py_ssize_t n,
               const AdamScalars *s)
{
    for (Py_ssize_t i = 0; i < n; i++)
        adam_one_f32(p + i, g + i, m + i, v + i, vmax ? vmax + i : NULL, s);
}

#ifdef HAVE_AVX2_PATH
__attribute__((target("avx2,fma"))) static void
adam_f32_avx2(float *p, const float *g, float *m, float *v, float *vmax, Py_ssize_t n,
              const AdamScalars *s)
{
    const __m256 decay = _mm256_set1_ps((float)s->decay), w1 = _mm256_set1_ps((float)s->w1);
    const __m256 w1m1 = _mm256_set1_ps((float)s->w1 - 1.0f);
    const __m256 beta2 = _mm256_set1_ps((float)s->beta2), c2 = _mm256_set1_ps((float)s->c2);
    const __m256 bc2 = _mm256_set1_ps((float)s->bc2_sqrt), eps = _mm256_set1_ps((float)s->eps);
    const __m256 nss = _mm256_set1_ps((float)s->neg_step_size);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const int small_weight = fabsf((float)s->w1) < 0.5f;
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i);
        if (s->maximize)
            gv = _mm256_xor_ps(gv, sign);
        __m256 x = _mm256_loadu_ps(p + i);
        if (s->decay_mode == 1)
            x = _mm256_mul_ps(x, decay);
        else if (s->decay_mode == 2)
            gv = _mm256_fmadd_ps(x, decay, gv);
        __m256 mv = _mm256_loadu_ps(m + i);
        __m256 diff = _mm256_sub_ps(gv, mv);
        mv = small_weight ? _mm256_fmadd_ps(diff, w1, mv) : _mm256_fmadd_ps(diff, w1m1, gv);
        _mm256_storeu_ps(m + i, mv);
        __m256 vv = _mm256_mul_ps(_mm256_loadu_ps(v + i), beta2);
        vv = _mm256_fmadd_ps(_mm256_mul_ps(c2, gv), gv, vv);
        _mm256_storeu_ps(v + i, vv);
        if (vmax) {
            __m256 a = _mm256_loadu_ps(vmax + i);
            __m256 keep = _mm256_or_ps(_mm256_cmp_ps(a, vv, _CMP_GE_OQ),
                                       _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
            vv = _mm256_blendv_ps(vv, a, keep);
            _mm256_storeu_ps(vmax + i, vv);
        }
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), bc2), eps);
        x = _mm256_add_ps(x, _mm256_div_ps(_mm256_mul_ps(nss, mv), denom));
        _mm256_storeu_ps(p + i, x);
    }
    for (; i < n; i++)
        adam_one_f32(p + i, g + i, m + i, v + i, vmax ? vmax + i : NULL, s);
}
#endif

static void
adam_f64(double *p, const double *g_in, double *m, double *v, double *vmax, Py_ssize_t n,
         const AdamScalars *s)
{
    const double w1m1 = s->w1 - 1.0;
    const int small_weight = fabs(s->w1) < 0.5;
    for (Py_ssize_t i = 0; i < n; i++) {
        double g = s->maximize ? -g_in[i] : g_in[i];
        double x = p[i];
        if (s->decay_mode == 1)
            x = x * s->decay;
        else if (s->decay_mode == 2)
            g = fma(x, s->decay, g);
        double diff = g - m[i];
        m[i] = small_weight ? fma(diff, s->w1, m[i]) : fma(diff, w1m1, g);
        double vv = fma(s->c2 * g, g, v[i] * s->beta2);
        v[i] = vv;
        if (vmax) {
            double a = vmax[i];
            vv = (a >= vv || a != a) ? a : vv;
            vmax[i] = vv;
        }
        double denom = sqrt(vv) / s->bc2_sqrt + s->eps;
        p[i] = x + (s->neg_step_size * m[i]) / denom;
    }
}

/* ---- SGD --------------------------------------------------------------------------------- */

static inline void
sgd_one_f32(float *p, const float *g_in, float *buf, int fresh, const SgdScalars *s)
{
    const float wd = (float)s->wd, momentum = (float)s->momentum;
    const float damp1 = (float)s->damp1, neg_lr = (float)s->neg_lr;
    float g = s->maximize ? -*g_in : *g_in;
    if (s->has_decay)
        g = fmaf(*p, wd, g);
    if (s->has_momentum) {
        float b = fresh ? g : fmaf(g, damp1, *buf * momentum);
        *buf = b;
        g = s->nesterov ? fmaf(b, momentum, g) : b;
    }
    *p = fmaf(g, neg_lr, *p);
}

static void
sgd_f32_plain(float *p, const float *g, float *buf, int fresh, Py_ssize_t n, const SgdScalars *s)
{
    for (Py_ssize_t i = 0; i < n; i++)
        sgd_one_f32(p + i, g + i, buf ? buf + i : NULL, fresh, s);
}

#ifdef HAVE_AVX2_PATH
__attribute__((target("avx2,fma"))) static void
sgd_f32_avx2(float *p, const float *g, float *buf, int fresh, Py_ssize_t n, const SgdScalars *s)
{
    const __m256 wd = _mm256_set1_ps((float)s->wd);
    const __m256 momentum = _mm256_set1_ps((float)s->momentum);
    const __m256 damp1 = _mm256_set1_ps((float)s->damp1);
    const __m256 neg_lr = _mm256_set1_ps((float)s->neg_lr);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i);
        if (s->maximize)
            gv = _mm256_xor_ps(gv, sign);
        __m256 x = _mm256_loadu_ps(p + i);
        if (s->has_decay)
            gv = _mm256_fmadd_ps(x, wd, gv);
        if (s->has_momentum) {
            __m256 b = fresh ? gv
                             : _mm256_fmadd_ps(gv, damp1,
                                               _mm256_mul_ps(_mm256_loadu_ps(buf + i), momentum));
            _mm256_storeu_ps(buf + i, b);
            gv = s->nesterov ? _mm256_fmadd_ps(b, momentum, gv) : b;
        }
        _mm256_storeu_ps(p + i, _mm256_fmadd_ps(gv, neg_lr, x));
    }
    for (; i < n; i++)
        sgd_one_f32(p + i, g + i, buf ? buf + i : NULL, fresh, s);
}
#endif

static void
sgd_f64(double *p, const double *g_in, double *buf, int fresh, Py_ssize_t n, const SgdScalars *s)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        double g = s->maximize ? -g_in[i] : g_in[i];
        if (s->has_decay)
            g = fma(p[i], s->wd, g);
        if (s->has_momentum) {
            double b = fresh ? g : fma(g, s->damp1, buf[i] * s->momentum);
            buf[i] = b;
            g = s->nesterov ? fma(b, s->momentum, g) : b;
        }
        p[i] = fma(g, s->neg_lr, p[i]);
    }
}

/* ---- argument handling ------------------------------------------------------------------- */

static int use_avx2 = 0;

/* The buffers of one parameter's arrays: all contiguous, of one float dtype and one length. */
typedef struct {
    Py_buffer views[6];
    int count;
} Buffers;

static void
release(Buffers *b)
{
    for (int i = 0; i < b->count; i++)
        PyBuffer_Release(&b->views[i]);
    b->count = 0;
}

/* Borrow `obj`'s memory into the next view; 'f' or 'd' and `len` bytes (if len >= 0). */
static int
borrow(Buffers *b, PyObject *obj, int writable, const char *what, Py_ssize_t index)
{
    Py_buffer *view = &b->views[b->count];
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        PyErr_Format(PyExc_ValueError,
                     "optimizer kernel: %s[%zd] must be a contiguous%s float array", what, index,
                     writable ? " writable" : "");
        return -1;
    }
    b->count++;
    const char *format = view->format ? view->format : "B";
    if (format[0] == '=' || format[0] == '<' || format[0] == '@')
        format++;
    int ok = (strcmp(format, "f") == 0 && view->itemsize == 4) ||
             (strcmp(format, "d") == 0 && view->itemsize == 8);
    Py_buffer *first = &b->views[0];
    if (!ok || view->itemsize != first->itemsize || view->len != first->len) {
        PyErr_Format(PyExc_ValueError,
                     "optimizer kernel: %s[%zd] must be float32 or float64 with its parameter's "
                     "dtype and size",
                     what, index);
        return -1;
    }
    return 0;
}

/* item `i` of a list/tuple (or None when `seq` is None) */
static PyObject *
item(PyObject *seq, Py_ssize_t i)
{
    return seq == Py_None ? Py_None : PySequence_Fast_GET_ITEM(seq, i);
}

static PyObject *
as_fast(PyObject *obj, const char *what, Py_ssize_t n)
{
    if (obj == Py_None) {
        Py_INCREF(obj);
        return obj;
    }
    PyObject *seq = PySequence_Fast(obj, "optimizer kernel: expected a list of arrays");
    if (seq && PySequence_Fast_GET_SIZE(seq) != n) {
        PyErr_Format(PyExc_ValueError, "optimizer kernel: %s has %zd arrays, expected %zd", what,
                     PySequence_Fast_GET_SIZE(seq), n);
        Py_CLEAR(seq);
    }
    return seq;
}

PyDoc_STRVAR(adam_doc,
"adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2, eps,\n"
"      decay_mode, decay, maximize)\n"
"\n"
"One Adam step on every parameter, in order, in place, as torch's single-tensor Adam computes\n"
"it. Lists of contiguous arrays of each parameter's float dtype and size (max_exp_avg_sqs None\n"
"without amsgrad); steps: each parameter's float32 step count (one element), incremented\n"
"here, from which its bias corrections are computed in doubles as torch computes them in\n"
"Python. decay_mode 0 none, 1 decoupled (p *= decay), 2 L2 (g += decay * p).\n"
"Every array is checked before any is changed: a ValueError leaves them all untouched.");

/* torch's step scalars for step count t, in doubles as its Python code computes them (Python's
 * float ** is the C library's pow, and so is this). */
static void
adam_step_scalars(AdamScalars *s, double t, double lr, double beta1, double beta2)
{
    double bias_correction2 = 1 - pow(beta2, t);
    s->bc2_sqrt = pow(bias_correction2, 0.5);
    s->neg_step_size = -(lr / (1 - pow(beta1, t)));
}

static PyObject *
adam_(PyObject *self, PyObject *args)
{
    PyObject *params, *grads, *ms, *vs, *vmaxs, *steps;
    double lr, beta1, beta2;
    AdamScalars s;
    if (!PyArg_ParseTuple(args, "OOOOOOddddidp:adam_", &params, &grads, &ms, &vs, &vmaxs, &steps,
                          &lr, &beta1, &beta2, &s.eps, &s.decay_mode, &s.decay, &s.maximize))
        return NULL;
    s.amsgrad = vmaxs != Py_None;
    s.w1 = 1 - beta1;
    s.beta2 = beta2;
    s.c2 = 1 - beta2;
    PyObject *seqs[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    const char *names[6] = {"params",      "grads",           "exp_avgs",
                            "exp_avg_sqs", "max_exp_avg_sqs", "steps"};
    PyObject *given[6] = {params, grads, ms, vs, vmaxs, steps};
    PyObject *result = NULL;
    Buffers *all = NULL;
    Py_ssize_t n = 0, held = 0;
    seqs[0] = PySequence_Fast(params, "optimizer kernel: params must be a list of arrays");
    if (!seqs[0])
        return NULL;
    n = PySequence_Fast_GET_SIZE(seqs[0]);
    for (int k = 1; k < 6; k++)
        if (!(seqs[k] = as_fast(given[k], names[k], n)))
            goto done;
    all = PyMem_Calloc(n ? n : 1, sizeof(Buffers));
    if (!all) {
        PyErr_NoMemory();
        goto done;
    }
    /* every buffer first: nothing changes unless every array suits */
    for (held = 0; held < n; held++) {
        Buffers *b = &all[held];
        for (int k = 0; k < 5; k++) {
            PyObject *obj = item(seqs[k], held);
            if (obj != Py_None && borrow(b, obj, k != 1, names[k], held) < 0)
                goto unsuitable;
        }
        Py_buffer *step = &b->views[b->count];
        if (PyObject_GetBuffer(item(seqs[5], held), step,
                               PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
            PyErr_Clear();
            goto bad_step;
        }
        b->count++;
        const char *format = step->format ? step->format : "B";
        if (format[0] == '=' || format[0] == '<' || format[0] == '@')
            format++;
        if (strcmp(format, "f") != 0 || step->len != 4)
            goto bad_step;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Buffers *b = &all[i];
        void *p = b->views[0].buf, *g = b->views[1].buf, *m = b->views[2].buf;
        void *v = b->views[3].buf, *vmax = s.amsgrad ? b->views[4].buf : NULL;
        float *step = b->views[b->count - 1].buf;
        *step = *step + 1.0f; /* torch's `step_t += 1` on a float32 tensor */
        adam_step_scalars(&s, (double)*step, lr, beta1, beta2);
        Py_ssize_t count = b->views[0].len / b->views[0].itemsize;
        int is_float = b->views[0].itemsize == 4;
        Py_BEGIN_ALLOW_THREADS
        if (!is_float)
            adam_f64(p, g, m, v, vmax, count, &s);
#ifdef HAVE_AVX2_PATH
        else if (use_avx2)
            adam_f32_avx2(p, g, m, v, vmax, count, &s);
#endif
        else
            adam_f32_plain(p, g, m, v, vmax, count, &s);
        Py_END_ALLOW_THREADS
    }
    Py_INCREF(Py_None);
    result = Py_None;
    goto done;
bad_step:
    PyErr_Format(PyExc_ValueError,
                 "optimizer kernel: steps[%zd] must be a writable float32 array of one element",
                 held);
unsuitable:
    held++; /* release the partly borrowed one too */
done:
    if (all) {
        for (Py_ssize_t i = 0; i < held && i < n; i++)
            release(&all[i]);
        PyMem_Free(all);
    }
    for (int k = 0; k < 6; k++)
        Py_XDECREF(seqs[k]);
    return result;
}

PyDoc_STRVAR(sgd_doc,
"sgd_(params, grads, momentum_buffers, fresh, weight_decay, momentum, damp1, nesterov,\n"
"     neg_lr, maximize)\n"
"\n"
"One SGD step on every parameter, in place, as torch's single-tensor SGD computes it.\n"
"momentum_buffers is None without momentum; fresh[i] true makes buffer i a copy of the\n"
"(decayed) gradient, as torch's first step does; damp1 = 1 - dampening.");

static PyObject *
sgd_(PyObject *self, PyObject *args)
{
    PyObject *params, *grads, *bufs, *fresh;
    SgdScalars s;
    if (!PyArg_ParseTuple(args, "OOOOdddpdp:sgd_", &params, &grads, &bufs, &fresh, &s.wd,
                          &s.momentum, &s.damp1, &s.nesterov, &s.neg_lr, &s.maximize))
        return NULL;
    s.has_decay = s.wd != 0.0;
    s.has_momentum = bufs != Py_None;
    PyObject *seqs[4] = {NULL, NULL, NULL, NULL};
    const char *names[3] = {"params", "grads", "momentum_buffers"};
    PyObject *result = NULL;
    seqs[0] = PySequence_Fast(params, "optimizer kernel: params must be a list of arrays");
    if (!seqs[0])
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seqs[0]);
    if (!(seqs[1] = as_fast(grads, names[1], n)) || !(seqs[2] = as_fast(bufs, names[2], n)) ||
        !(seqs[3] = as_fast(s.has_momentum ? fresh : Py_None, "fresh", n)))
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        Buffers b = {.count = 0};
        for (int k = 0; k < 3; k++) {
            PyObject *obj = item(seqs[k], i);
            if (obj == Py_None)
                continue;
            if (borrow(&b, obj, k != 1, names[k], i) < 0) {
                release(&b);
                goto done;
            }
        }
        int is_fresh = 0;
        if (s.has_momentum && (is_fresh = PyObject_IsTrue(item(seqs[3], i))) < 0) {
            release(&b);
            goto done;
        }
        void *p = b.views[0].buf, *g = b.views[1].buf;
        void *buf = s.has_momentum ? b.views[2].buf : NULL;
        Py_ssize_t count = b.views[0].len / b.views[0].itemsize;
        int is_float = b.views[0].itemsize == 4;
        Py_BEGIN_ALLOW_THREADS
        if (!is_float)
            sgd_f64(p, g, buf, is_fresh, count, &s);
#ifdef HAVE_AVX2_PATH
        else if (use_avx2)
            sgd_f32_avx2(p, g, buf, is_fresh, count, &s);
#endif
        else
            sgd_f32_plain(p, g, buf, is_fresh, count, &s);
        Py_END_ALLOW_THREADS
        release(&b);
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    for (int k = 0; k < 4; k++)
        Py_XDECREF(seqs[k]);
    return result;
}

static PyObject *
set_vector_path(PyObject *self, PyObject *arg)
{
    int wanted = PyObject_IsTrue(arg);
    if (wanted < 0)
        return NULL;
#ifdef HAVE_AVX2_PATH
    __builtin_cpu_init();
    use_avx2 = wanted && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    use_avx2 = 0;
#endif
    return PyBool_FromLong(use_avx2);
}

static PyMethodDef methods[] = {
    {"adam_", adam_, METH_VARARGS, adam_doc},
    {"sgd_", sgd_, METH_VARARGS, sgd_doc},
    {"set_vector_path", set_vector_path, METH_O,
     "set_vector_path(wanted) -> bool: use the AVX2/FMA loops when wanted and the CPU has them "
     "(the default); False runs the plain loops (the tests check both give the same bits)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "micrograd.tensor.optim._coptim",
    "Adam / AdamW and SGD updates in one pass, bit for bit as the numpy path (_kernels.py).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__coptim(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    PyObject *on = set_vector_path(NULL, Py_True);
    if (on == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    Py_DECREF(on);
    return m;
}
