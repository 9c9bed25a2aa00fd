/* micrograd.tensor.nn._cattention: PyTorch's float32 CPU flash attention, forward and backward.
 *
 * The compiled twin of micrograd/tensor/nn/_flash32.py, which explains the arithmetic: the
 * query blocks against key blocks with a running softmax, the kernel's `exp_u20` on whole
 * vectors and a correctly rounded exp on the rest, glibc's logf for the log-sum-exp, SLEEF's
 * expf in the backward pass, rowsums in 16 lanes added in a shuffle tree, and Intel MKL's
 * order of additions in each matrix product. The numpy replay and this file give the same
 * bits (the tests compare them); this one is much faster, since the matrix products go one
 * chain of additions at a time, which numpy can only do one whole-array step at a time.
 *
 * Compiled with -ffp-contract=off: every fused multiply-add is an explicit fmaf / fma, where
 * PyTorch (or MKL) fuses one. MICROGRAD_PURE=1 or a failed build leaves the numpy replay.
 *
 * Arrays are C-contiguous float32 buffers: q (BH, L, E), k and v (BH, S, E), a mask (BH, L, S)
 * or None, outputs allocated by the caller.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16
#define KV_SPLIT 512

/* ---- the kernel's exponentials and logarithm ------------------------------------------- */

static inline float bits_to_float(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* the vector class's exp_u20: see exp_u20 in _flash32.py */
#define INLINE static inline __attribute__((always_inline))

INLINE float exp_u20(float x) {
    const float ln_min = bits_to_float(0xC2AEAC50u), ln_max = bits_to_float(0x42B17218u);
    const float log2e = bits_to_float(0x3FB8AA3Bu), ln2 = bits_to_float(0x3F317218u);
    int below = x < ln_min;
    float src = x < ln_max ? x : ln_max; /* minps: a nan gives the bound */
    src = src > ln_min ? src : ln_min;
    float n = floorf(fmaf(src, log2e, 0.5f));
    float r = fmaf(-n, ln2, src);
    float poly = fmaf(r, 0.00828929059f, 0.0418978221f);
    poly = fmaf(r, poly, 0.166676521f);
    poly = fmaf(r, poly, 0.499991506f);
    poly = fmaf(r, poly, 0.999999701f);
    poly = fmaf(r, poly, 1.0f);
    uint32_t exponent = (uint32_t)((int32_t)n - 1 + 127) << 23;
    float scale = below ? 0.0f : bits_to_float(exponent);
    return (poly * scale) * 2.0f;
}

/* the scalar loops' exp, as measured: correctly rounded */
INLINE float scalar_expf(float x) { return (float)exp((double)x); }

/* SLEEF's expf (u10), as Vectorized<float>::exp: see _sleef.py */
INLINE float sleef_expf(float d) {
    const float r_ln2 = 1.442695040888963407359924681001892137426645954152985934135449406931f;
    const float l2u = 0.693145751953125f, l2l = 1.428606765330187045e-06f;
    /* the limits first: no conversion of an infinite or nan value to int */
    if (d < -104.0f) return 0.0f;
    if (d > 100.0f) return INFINITY;
    if (d != d) return d;
    float qf = rintf(d * r_ln2);
    int q = (int)qf;
    float s = fmaf(qf, -l2u, d);
    s = fmaf(qf, -l2l, s);
    float u = 0.000198527617612853646278381f;
    u = fmaf(u, s, 0.00139304355252534151077271f);
    u = fmaf(u, s, 0.00833336077630519866943359f);
    u = fmaf(u, s, 0.0416664853692054748535156f);
    u = fmaf(u, s, 0.166666671633720397949219f);
    u = fmaf(u, s, 0.5f);
    u = 1.0f + fmaf(s * s, u, s);
    int half = q >> 1;
    /* 2**half and 2**(q - half) built in the exponent bits: both normal for |d| <= 104 */
    float low = bits_to_float((uint32_t)(half + 127) << 23);
    float high = bits_to_float((uint32_t)(q - half + 127) << 23);
    u = (u * low) * high;
    return u;
}

/* ---- MKL's sgemm as the kernel calls it: see _gemm in _flash32.py ------------------------ */

/* x[i][j] = x[i * xr + j * xc], y[j][c] = y[j * yr + c * yc], out[i][c] = out[i * ldo + c] */
typedef struct {
    const float *x;
    long xr, xc;
    const float *y;
    long yr, yc;
    float *out;
    long ldo;
    int n, depth, m;
    int nt;        /* the right operand is transposed in the call */
    int has_alpha; /* alpha multiplies the product */
    float alpha;
    int has_c;     /* out holds c, added to the product */
} Gemm;

/* The loops below run over the output columns innermost (each column its own chain, the
 * chains' order of operations unchanged), so that the compiler can vectorise them; the
 * right operand is first copied (and scaled where MKL scales it) into rows of m floats. */

/* The hot loops: plain C (fmaf may be a library call), and AVX2 / AVX-512 versions written
 * with intrinsics (the compiler does not vectorise fmaf loops by itself). The module picks one
 * at import by what the processor supports; each does the same roundings, so the same bits. */

/* acc[c] = sum over j in [start, stop) of x_row[j] * y[j][c] as fused chains */
static void fused_rows_base(const float *xrow, long xc, const float *y, int start, int stop,
                            int m, float *acc) {
    for (int c = 0; c < m; c++) acc[c] = 0.0f;
    for (int j = start; j < stop; j++) {
        float xv = xrow[(long)j * xc];
        const float *yrow = y + (long)j * m;
        for (int c = 0; c < m; c++) acc[c] = fmaf(xv, yrow[c], acc[c]);
    }
}

/* acc[c] += x_row[j] * y[j][c], the product rounded, for j = start, start + step, ... */
static void plain_rows_base(const float *xrow, long xc, const float *y, int start, int stop,
                            int step, int m, int has_alpha, float alpha, float *acc) {
    for (int j = start; j < stop; j += step) {
        float xv = xrow[(long)j * xc];
        if (has_alpha) xv = xv * alpha;
        const float *yrow = y + (long)j * m;
        for (int c = 0; c < m; c++) {
            float p = xv * yrow[c];
            acc[c] = acc[c] + p;
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86_LOOPS 1

/* The vector versions keep each group of columns' sums in registers through the whole inner
 * loop (two groups at a time, for two independent chains), storing them once at the end. */
#define VECTOR_LOOPS(suffix, attr, W, vec, set1, load, store, fmadd, mul, add, zero)            \
    attr static void fused_rows_##suffix(const float *xrow, long xc, const float *y, int start,  \
                                         int stop, int m, float *acc) {                          \
        int c = 0;                                                                               \
        for (; c + 2 * W <= m; c += 2 * W) {                                                     \
            vec a0 = zero(), a1 = zero();                                                        \
            for (int j = start; j < stop; j++) {                                                 \
                vec xs = set1(xrow[(long)j * xc]);                                               \
                const float *yrow = y + (long)j * m + c;                                         \
                a0 = fmadd(xs, load(yrow), a0);                                                  \
                a1 = fmadd(xs, load(yrow + W), a1);                                              \
            }                                                                                    \
            store(acc + c, a0);                                                                  \
            store(acc + c + W, a1);                                                              \
        }                                                                                        \
        for (; c + W <= m; c += W) {                                                             \
            vec a0 = zero();                                                                     \
            for (int j = start; j < stop; j++)                                                   \
                a0 = fmadd(set1(xrow[(long)j * xc]), load(y + (long)j * m + c), a0);             \
            store(acc + c, a0);                                                                  \
        }                                                                                        \
        for (; c < m; c++) {                                                                     \
            float a0 = 0.0f;                                                                     \
            for (int j = start; j < stop; j++)                                                   \
                a0 = fmaf(xrow[(long)j * xc], y[(long)j * m + c], a0);                           \
            acc[c] = a0;                                                                         \
        }                                                                                        \
    }                                                                                            \
    attr static void plain_rows_##suffix(const float *xrow, long xc, const float *y, int start,  \
                                         int stop, int step, int m, int has_alpha, float alpha,  \
                                         float *acc) {                                           \
        int c = 0;                                                                               \
        for (; c + W <= m; c += W) {                                                             \
            vec a0 = load(acc + c);                                                              \
            for (int j = start; j < stop; j += step) {                                           \
                float xv = xrow[(long)j * xc];                                                   \
                if (has_alpha) xv = xv * alpha;                                                  \
                a0 = add(a0, mul(set1(xv), load(y + (long)j * m + c)));                          \
            }                                                                                    \
            store(acc + c, a0);                                                                  \
        }                                                                                        \
        for (; c < m; c++) {                                                                     \
            float a0 = acc[c];                                                                   \
            for (int j = start; j < stop; j += step) {                                           \
                float xv = xrow[(long)j * xc];                                                   \
                if (has_alpha) xv = xv * alpha;                                                  \
                float p = xv * y[(long)j * m + c];                                               \
                a0 = a0 + p;                                                                     \
            }                                                                                    \
            acc[c] = a0;                                                                         \
        }                                                                                        \
    }

VECTOR_LOOPS(avx2, __attribute__((target("avx2,fma"))), 8, __m256, _mm256_set1_ps,
             _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps, _mm256_mul_ps, _mm256_add_ps,
             _mm256_setzero_ps)
VECTOR_LOOPS(avx512, __attribute__((target("avx512f,avx2,fma"))), 16, __m512, _mm512_set1_ps,
             _mm512_loadu_ps, _mm512_storeu_ps, _mm512_fmadd_ps, _mm512_mul_ps, _mm512_add_ps,
             _mm512_setzero_ps)
#endif

typedef void (*FusedRows)(const float *, long, const float *, int, int, int, float *);
typedef void (*PlainRows)(const float *, long, const float *, int, int, int, int, int, float,
                          float *);
static FusedRows fused_rows = fused_rows_base;
static PlainRows plain_rows = plain_rows_base;

static void pick_loops(void) {
#ifdef HAVE_X86_LOOPS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) {
        fused_rows = fused_rows_avx512;
        plain_rows = plain_rows_avx512;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        fused_rows = fused_rows_avx2;
        plain_rows = plain_rows_avx2;
    }
#endif
}

static void add_rows(float *a, const float *b, int m) {
    for (int c = 0; c < m; c++) a[c] = a[c] + b[c];
}

static void fused_chain(const Gemm *g, const float *y, int i, int c0, int c1, float *tmp) {
    int depth = g->depth, bounds[4], nb = 0;
    bounds[nb++] = 0;
    if (depth <= 192) {
        bounds[nb++] = depth;
    } else {
        int half = depth / 2;
        bounds[nb++] = half;
        bounds[nb++] = 2 * half;
        if (depth % 2) bounds[nb++] = depth;
    }
    int have = g->has_c;
    float *orow = g->out + (long)i * g->ldo + c0;
    for (int b = 0; b + 1 < nb; b++) {
        fused_rows(g->x + (long)i * g->xr, g->xc, y + c0, bounds[b], bounds[b + 1], g->m, tmp);
        if (have) {
            add_rows(orow, tmp, c1 - c0);
        } else {
            memcpy(orow, tmp, sizeof(float) * (size_t)(c1 - c0));
            have = 1;
        }
    }
}

static void plain_chain(const Gemm *g, const float *y, int i, int c0, int c1, float *acc) {
    float *orow = g->out + (long)i * g->ldo + c0;
    int m = c1 - c0;
    if (g->has_c) memcpy(acc, orow, sizeof(float) * (size_t)m);
    else memset(acc, 0, sizeof(float) * (size_t)m);
    plain_rows(g->x + (long)i * g->xr, g->xc, y + c0, 0, g->depth, 1, g->m, g->has_alpha,
               g->alpha, acc);
    memcpy(orow, acc, sizeof(float) * (size_t)m);
}

static void lane_products(const Gemm *g, const float *y, int i, int c0, int c1, int lanes,
                          float *acc) {
    int m = c1 - c0;
    float *orow = g->out + (long)i * g->ldo + c0;
    for (int l = 0; l < lanes; l++) {
        float *part = acc + (size_t)l * m;
        memset(part, 0, sizeof(float) * (size_t)m);
        plain_rows(g->x + (long)i * g->xr, g->xc, y + c0, l, g->depth, lanes, g->m, 0, 0.0f, part);
    }
    for (int width = lanes / 2; width >= 1; width /= 2)
        for (int l = 0; l < width; l++)
            add_rows(acc + (size_t)l * m, acc + (size_t)(l + width) * m, m);
    for (int c = 0; c < m; c++) {
        float v = acc[c];
        if (g->has_alpha) v = v * g->alpha;
        orow[c] = g->has_c ? orow[c] + v : v;
    }
}

/* the pattern of one output row: 0 fused chains, 1 plain chain, 2 lanes (4; 8 for the last
 * m % 4 columns when m < 12) */
static void gemm(const Gemm *g) {
    int n = g->n, m = g->m;
    if (g->depth == 0) {
        for (int i = 0; i < n; i++)
            for (int c = 0; c < m; c++) {
                float *o = &g->out[(long)i * g->ldo + c];
                *o = g->has_c ? *o + 0.0f : 0.0f;
            }
        return;
    }
    /* y as rows of m floats; MKL scales the right operand first in the fused kernel */
    int fused_rows_n = m < 12 ? 0 : (n >= 12 ? n : n - n % 4);
    int scale_y = g->has_alpha && m >= 12;
    size_t ysize = (size_t)g->depth * m;
    float *y = malloc(sizeof(float) * (ysize + 2 * (size_t)8 * m + 8));
    float *yscaled = NULL;
    if (!y) return; /* the caller checks nothing: a failed allocation leaves zeros */
    float *acc = y + ysize;
    for (int j = 0; j < g->depth; j++)
        for (int c = 0; c < m; c++) y[(size_t)j * m + c] = g->y[(long)j * g->yr + (long)c * g->yc];
    if (scale_y) {
        yscaled = malloc(sizeof(float) * ysize);
        if (!yscaled) {
            free(y);
            return;
        }
        for (size_t t = 0; t < ysize; t++) yscaled[t] = y[t] * g->alpha;
    }
    int whole = m - m % 4;
    for (int i = 0; i < n; i++) {
        if (m < 12) {
            if (g->nt) {
                if (whole) lane_products(g, y, i, 0, whole, 4, acc);
                if (whole < m) lane_products(g, y, i, whole, m, 8, acc);
            } else {
                plain_chain(g, y, i, 0, m, acc);
            }
        } else if (i < fused_rows_n || (g->nt && m % 4 != 0)) {
            fused_chain(g, scale_y ? yscaled : y, i, 0, m, acc);
        } else if (g->nt) {
            lane_products(g, y, i, 0, m, 4, acc);
        } else {
            plain_chain(g, y, i, 0, m, acc);
        }
    }
    free(yscaled);
    free(y);
}

static int query_split(int length) { return length >= 768 ? 256 : length >= 192 ? 64 : 32; }

/* ---- forward ------------------------------------------------------------------------------ */

INLINE void forward_head(const float *q, const float *k, const float *v, const float *mask,
                         float *out, float *lse, int L, int S, int E, float scale, int causal,
                         float *scores, float *dst, float *row_max, float *row_sum) {
    int split = query_split(L);
    if (split > L) split = L;
    int kv_split = S < KV_SPLIT ? S : KV_SPLIT;
    for (int m0 = 0; m0 < L; m0 += split) {
        int block = L - m0 < split ? L - m0 : split;
        int visits = causal ? (m0 + block < S ? m0 + block : S) : S;
        for (int r = 0; r < block; r++) {
            row_max[r] = -INFINITY;
            row_sum[r] = 0.0f;
        }
        for (int start = 0; start < visits; start += kv_split) {
            int size = S - start < kv_split ? S - start : kv_split;
            Gemm g = {q + (long)m0 * E, E, 1, k + (long)start * E, 1, E, scores, size,
                      block, E, size, 1, 0, 0.0f, 0};
            gemm(&g);
            int last_block = visits - start <= kv_split;
            for (int r = 0; r < block; r++) {
                float *s = scores + (long)r * size;
                if (causal && last_block)
                    for (int c = 0; c < size; c++)
                        if (start + c > m0 + r) s[c] = -INFINITY;
                const float *mrow = mask ? mask + (long)(m0 + r) * S + start : NULL;
                float block_max = -INFINITY;
                for (int c = 0; c < size; c++) {
                    s[c] = mrow ? fmaf(s[c], scale, mrow[c]) : s[c] * scale;
                    /* a nan wins, as in the kernel's vector maximum */
                    if (!isnan(block_max) && (s[c] > block_max || isnan(s[c]))) block_max = s[c];
                }
                float new_max = row_max[r] > block_max ? row_max[r] : block_max;
                if (isnan(row_max[r]) || isnan(block_max)) new_max = NAN;
                int dead = new_max == -INFINITY;
                float shift = dead ? 0.0f : new_max;
                int whole = size - size % LANES;
                float lanes[LANES], total = 0.0f;
                for (int c = 0; c < whole; c++) {
                    float e = exp_u20(s[c] - shift);
                    s[c] = e;
                    if (c < LANES) lanes[c] = e;
                    else lanes[c % LANES] = lanes[c % LANES] + e;
                }
                if (whole) {
                    for (int width = LANES / 2; width >= 1; width /= 2)
                        for (int l = 0; l < width; l++) lanes[l] = lanes[l] + lanes[l + width];
                    total = lanes[0];
                }
                for (int c = whole; c < size; c++) {
                    float e = scalar_expf(s[c] - shift);
                    s[c] = e;
                    total = total + e;
                }
                if (dead)
                    for (int c = 0; c < size; c++) s[c] = 0.0f;
                float rescale = scalar_expf(row_max[r] - new_max);
                float updated = fmaf(rescale, row_sum[r], total);
                if (!dead) {
                    if (start)
                        for (int d = 0; d < E; d++)
                            dst[(long)r * E + d] = dst[(long)r * E + d] * rescale;
                    row_sum[r] = updated;
                    row_max[r] = new_max;
                }
            }
            Gemm p = {scores, size, 1, v + (long)start * E, E, 1, dst, E,
                      block, size, E, 0, 0, 0.0f, start > 0};
            gemm(&p);
        }
        for (int r = 0; r < block; r++) {
            float sum = row_sum[r] == 0.0f ? 1.0f : row_sum[r];
            float mx = row_max[r] == -INFINITY ? 0.0f : row_max[r];
            float reciprocal = 1.0f / sum;
            for (int d = 0; d < E; d++)
                out[(long)(m0 + r) * E + d] = dst[(long)r * E + d] * reciprocal;
            lse[m0 + r] = mx + logf(sum);
        }
    }
}

/* ---- backward ----------------------------------------------------------------------------- */

INLINE float row_dot(const float *x, const float *y, int size) {
    if (size < LANES) {
        float total = x[0] * y[0];
        for (int j = 1; j < size; j++) total = total + x[j] * y[j];
        return total;
    }
    float lanes[LANES];
    for (int j = 0; j < size; j++) {
        float p = x[j] * y[j];
        lanes[j % LANES] = j < LANES ? p : lanes[j % LANES] + p;
    }
    for (int width = LANES / 2; width >= 1; width /= 2)
        for (int l = 0; l < width; l++) lanes[l] = lanes[l] + lanes[l + width];
    return lanes[0];
}

INLINE void backward_head(const float *go, const float *q, const float *k, const float *v,
                          const float *out, const float *lse, const float *mask, float *gq,
                          float *gk, float *gv, int L, int S, int E, float scale, int causal,
                          float *attn, float *grad_attn, float *dsum) {
    int split = query_split(L);
    if (split > L) split = L;
    int kv_split = S < KV_SPLIT ? S : KV_SPLIT;
    for (int r = 0; r < L; r++) dsum[r] = row_dot(go + (long)r * E, out + (long)r * E, E);
    for (int m0 = 0; m0 < L; m0 += split) {
        int block = L - m0 < split ? L - m0 : split;
        int visits = causal ? (m0 + block < S ? m0 + block : S) : S;
        const float *q_b = q + (long)m0 * E, *go_b = go + (long)m0 * E;
        for (int start = 0; start < visits; start += kv_split) {
            int size = S - start < kv_split ? S - start : kv_split;
            Gemm g1 = {q_b, E, 1, k + (long)start * E, 1, E, attn, size,
                       block, E, size, 1, 1, scale, 0};
            gemm(&g1);
            for (int r = 0; r < block; r++) {
                float *a = attn + (long)r * size;
                const float *mrow = mask ? mask + (long)(m0 + r) * S + start : NULL;
                for (int c = 0; c < size; c++) {
                    float x = mrow ? a[c] + mrow[c] : a[c];
                    a[c] = sleef_expf(x - lse[m0 + r]);
                }
                if (causal && visits - start <= kv_split)
                    for (int c = 0; c < size; c++)
                        if (start + c > m0 + r) a[c] = 0.0f;
            }
            /* grad_v += attn^T grad_out */
            Gemm g2 = {attn, 1, size, go_b, E, 1, gv + (long)start * E, E,
                       size, block, E, 0, 0, 0.0f, 1};
            gemm(&g2);
            /* grad_attn = grad_out v^T, then attn * (grad_attn - dsum) */
            Gemm g3 = {go_b, E, 1, v + (long)start * E, 1, E, grad_attn, size,
                       block, E, size, 1, 0, 0.0f, 0};
            gemm(&g3);
            for (int r = 0; r < block; r++)
                for (int c = 0; c < size; c++) {
                    long at = (long)r * size + c;
                    grad_attn[at] = attn[at] * (grad_attn[at] - dsum[m0 + r]);
                }
            Gemm g4 = {grad_attn, size, 1, k + (long)start * E, E, 1, gq + (long)m0 * E, E,
                       block, size, E, 0, 1, scale, 1};
            gemm(&g4);
            Gemm g5 = {grad_attn, 1, size, q_b, E, 1, gk + (long)start * E, E,
                       size, block, E, 0, 1, scale, 1};
            gemm(&g5);
        }
    }
}

/* forward_head and backward_head compiled twice: for any x86-64 (fmaf a library call) and
 * with FMA instructions; the same operations, so the same bits */
#define HEAD_VARIANT(suffix, attr)                                                               \
    attr static void forward_##suffix(const float *q, const float *k, const float *v,            \
                                      const float *mask, float *out, float *lse, int L, int S,   \
                                      int E, float scale, int causal, float *scores, float *dst, \
                                      float *row_max, float *row_sum) {                          \
        forward_head(q, k, v, mask, out, lse, L, S, E, scale, causal, scores, dst, row_max,      \
                     row_sum);                                                                   \
    }                                                                                            \
    attr static void backward_##suffix(const float *go, const float *q, const float *k,          \
                                       const float *v, const float *out, const float *lse,       \
                                       const float *mask, float *gq, float *gk, float *gv,       \
                                       int L, int S, int E, float scale, int causal,             \
                                       float *attn, float *grad_attn, float *dsum) {             \
        backward_head(go, q, k, v, out, lse, mask, gq, gk, gv, L, S, E, scale, causal, attn,     \
                      grad_attn, dsum);                                                          \
    }

HEAD_VARIANT(base, )
#ifdef HAVE_X86_LOOPS
HEAD_VARIANT(fma, __attribute__((target("avx2,fma"))))
#endif

typedef void (*ForwardHead)(const float *, const float *, const float *, const float *, float *,
                            float *, int, int, int, float, int, float *, float *, float *,
                            float *);
typedef void (*BackwardHead)(const float *, const float *, const float *, const float *,
                             const float *, const float *, const float *, float *, float *,
                             float *, int, int, int, float, int, float *, float *, float *);
static ForwardHead forward_head_in_use = forward_base;
static BackwardHead backward_head_in_use = backward_base;

/* ---- Python bindings ---------------------------------------------------------------------- */

static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t count, int writable,
                      const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (view->len != count * (Py_ssize_t)sizeof(float)) {
        PyErr_Format(PyExc_ValueError, "_cattention: %s has %zd bytes, expected %zd", name,
                     view->len, count * (Py_ssize_t)sizeof(float));
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *py_forward(PyObject *self, PyObject *args) {
    PyObject *qo, *ko, *vo, *masko, *outo, *lseo;
    int heads, L, S, E, causal;
    float scale;
    if (!PyArg_ParseTuple(args, "OOOOOOiiiifp", &qo, &ko, &vo, &masko, &outo, &lseo, &heads, &L,
                          &S, &E, &scale, &causal))
        return NULL;
    Py_buffer bq, bk, bv, bm = {0}, bo, bl;
    int has_mask = masko != Py_None;
    if (get_buffer(qo, &bq, (Py_ssize_t)heads * L * E, 0, "query") < 0) return NULL;
    if (get_buffer(ko, &bk, (Py_ssize_t)heads * S * E, 0, "key") < 0) goto f1;
    if (get_buffer(vo, &bv, (Py_ssize_t)heads * S * E, 0, "value") < 0) goto f2;
    if (has_mask && get_buffer(masko, &bm, (Py_ssize_t)heads * L * S, 0, "mask") < 0) goto f3;
    if (get_buffer(outo, &bo, (Py_ssize_t)heads * L * E, 1, "out") < 0) goto f4;
    if (get_buffer(lseo, &bl, (Py_ssize_t)heads * L, 1, "lse") < 0) goto f5;
    int split = L < 1 ? 1 : (query_split(L) < L ? query_split(L) : L);
    int kv = S < KV_SPLIT ? (S < 1 ? 1 : S) : KV_SPLIT;
    size_t scores = (size_t)split * kv, dst = (size_t)split * E;
    float *work = malloc(sizeof(float) * (scores + dst + 2 * (size_t)split));
    if (!work) {
        PyErr_NoMemory();
        goto f6;
    }
    Py_BEGIN_ALLOW_THREADS
    for (int h = 0; h < heads; h++)
        forward_head_in_use((const float *)bq.buf + (long)h * L * E,
                            (const float *)bk.buf + (long)h * S * E,
                            (const float *)bv.buf + (long)h * S * E,
                            has_mask ? (const float *)bm.buf + (long)h * L * S : NULL,
                            (float *)bo.buf + (long)h * L * E, (float *)bl.buf + (long)h * L, L, S,
                            E, scale, causal, work, work + scores, work + scores + dst,
                            work + scores + dst + split);
    Py_END_ALLOW_THREADS
    free(work);
    PyBuffer_Release(&bl);
    PyBuffer_Release(&bo);
    if (has_mask) PyBuffer_Release(&bm);
    PyBuffer_Release(&bv);
    PyBuffer_Release(&bk);
    PyBuffer_Release(&bq);
    Py_RETURN_NONE;
f6:
    PyBuffer_Release(&bl);
f5:
    PyBuffer_Release(&bo);
f4:
    if (has_mask) PyBuffer_Release(&bm);
f3:
    PyBuffer_Release(&bv);
f2:
    PyBuffer_Release(&bk);
f1:
    PyBuffer_Release(&bq);
    return NULL;
}

static PyObject *py_backward(PyObject *self, PyObject *args) {
    PyObject *objs[10];
    int heads, L, S, E, causal;
    float scale;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOiiiifp", &objs[0], &objs[1], &objs[2], &objs[3],
                          &objs[4], &objs[5], &objs[6], &objs[7], &objs[8], &objs[9], &heads, &L,
                          &S, &E, &scale, &causal))
        return NULL;
    /* grad_out, q, k, v, out, lse, mask, grad_q, grad_k, grad_v */
    static const char *names[10] = {"grad_out", "query", "key", "value", "out", "lse", "mask",
                                    "grad_query", "grad_key", "grad_value"};
    Py_ssize_t counts[10] = {(Py_ssize_t)heads * L * E, (Py_ssize_t)heads * L * E,
                             (Py_ssize_t)heads * S * E, (Py_ssize_t)heads * S * E,
                             (Py_ssize_t)heads * L * E, (Py_ssize_t)heads * L,
                             (Py_ssize_t)heads * L * S, (Py_ssize_t)heads * L * E,
                             (Py_ssize_t)heads * S * E, (Py_ssize_t)heads * S * E};
    Py_buffer views[10];
    int got = 0, has_mask = objs[6] != Py_None;
    for (; got < 10; got++) {
        if (got == 6 && !has_mask) continue;
        if (get_buffer(objs[got], &views[got], counts[got], got >= 7, names[got]) < 0) goto fail;
    }
    int split = L < 1 ? 1 : (query_split(L) < L ? query_split(L) : L);
    int kv = S < KV_SPLIT ? (S < 1 ? 1 : S) : KV_SPLIT;
    float *work = malloc(sizeof(float) * (2 * (size_t)split * kv + (size_t)L + 1));
    if (!work) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    for (int h = 0; h < heads; h++) {
        long qo = (long)h * L * E, ko = (long)h * S * E;
        backward_head_in_use((const float *)views[0].buf + qo, (const float *)views[1].buf + qo,
                      (const float *)views[2].buf + ko, (const float *)views[3].buf + ko,
                      (const float *)views[4].buf + qo, (const float *)views[5].buf + (long)h * L,
                      has_mask ? (const float *)views[6].buf + (long)h * L * S : NULL,
                      (float *)views[7].buf + qo, (float *)views[8].buf + ko,
                      (float *)views[9].buf + ko, L, S, E, scale, causal, work,
                      work + (size_t)split * kv, work + 2 * (size_t)split * kv);
    }
    Py_END_ALLOW_THREADS
    free(work);
    for (int i = 0; i < 10; i++)
        if (i != 6 || has_mask) PyBuffer_Release(&views[i]);
    Py_RETURN_NONE;
fail:
    for (int i = 0; i < got; i++)
        if (i != 6 || has_mask) PyBuffer_Release(&views[i]);
    return NULL;
}

static PyMethodDef methods[] = {
    {"forward", py_forward, METH_VARARGS,
     "forward(q, k, v, mask, out, lse, heads, L, S, E, scale, causal): fills out and lse"},
    {"backward", py_backward, METH_VARARGS,
     "backward(grad_out, q, k, v, out, lse, mask, grad_q, grad_k, grad_v, heads, L, S, E, "
     "scale, causal): fills the three gradients (zeroed by the caller)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cattention",
                                    "PyTorch's float32 CPU flash attention (see _flash32.py).", -1,
                                    methods};

PyMODINIT_FUNC PyInit__cattention(void) {
    pick_loops();
#ifdef HAVE_X86_LOOPS
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        forward_head_in_use = forward_fma;
        backward_head_in_use = backward_fma;
    }
#endif
    return PyModule_Create(&module);
}
