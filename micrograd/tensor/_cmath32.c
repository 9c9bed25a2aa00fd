/* micrograd.tensor._cmath32: float32 elementwise functions with PyTorch's CPU floats, fast.
 *
 * The numpy module micrograd/tensor/_math32.py computes the same functions on whole arrays and
 * gives the same bits (the tests compare the two, and both against torch); this module does it
 * in one pass over the data, in vector registers. What each function replays is said in
 * _math32.py, beside the numpy code:
 *
 *   tanh(x, out)                  tanh correctly rounded (a double-precision evaluation)
 *   tanh_backward(g, y, out)      g * (1 - y*y) with the fused multiply-add of PyTorch's kernel
 *   gelu_erf(x, out)              oneDNN's AVX-512 GELU (erf form): a piecewise polynomial
 *   gelu_erf_backward(g, x, out)  g * its derivative, oneDNN's: Abramowitz-Stegun's erf and
 *                                 oneDNN's own exp
 *   gelu_tanh(x, out, chunk)      ATen's GELU (tanh form): SLEEF's tanhf in whole blocks of 32
 *                                 elements of each `chunk` (a thread's share), the C library's
 *                                 tanhf in the rest
 *   gelu_tanh_backward(g, x, out, chunk)   its derivative times g, the same way
 *   sigmoid(x, out, chunk)        1 / (exp(-x) + 1) with SLEEF's expf in whole blocks of 32 of
 *                                 each chunk, the C library's expf in the rest
 *   sigmoid_backward(g, y, out)   (g * (1 - y)) * y
 *
 * Every array argument is a C-contiguous float32 buffer of the same length (checked); `out` may
 * be one of the inputs. The multiply-adds PyTorch's kernels fuse are written as fmaf and the
 * file is compiled with -ffp-contract=off, so that the compiler fuses nothing else. The element
 * functions below have no loops or branches of their own, so that the compiler vectorises the
 * loops that call them. The loops are compiled twice: for any x86-64 (fmaf is then a library
 * call: the same result, slower) and for processors with AVX2 and FMA, chosen at import.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

INLINE float
bits_to_float(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

INLINE uint32_t
float_to_bits(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

INLINE double
bits_to_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* -- tanh, correctly rounded ---------------------------------------------------------------- */

/* tanh(a) = e / (e + 2), e = expm1(2a), in double precision: a Taylor polynomial of expm1 for
 * 2a < 0.5, else exp(r) 2**k - 1 with r = 2a - k ln 2 (ln 2 in two parts, the first exact
 * times any k here). Relative error a few units of 2**-53, so the float rounding is the
 * correct one but for inputs within about 2**-26 ulp of halfway: there are none, as every float
 * below 9.1 gives the C library's double-precision tanh rounded to float. */
#define TANH_LN2_HI 0x1.62e42feep-1
#define TANH_LN2_LO 0x1.a39ef35793c76p-33
#define TANH_INV_LN2 0x1.71547652b82fep+0
#define TANH_SATURATION 9.1 /* from here tanh rounds to 1.0f */
static const double INV_FACTORIAL[16] = {
    1.0,
    1.0,
    0.5,
    0x1.5555555555555p-3,
    0x1.5555555555555p-5,
    0x1.1111111111111p-7,
    0x1.6c16c16c16c17p-10,
    0x1.a01a01a01a01ap-13,
    0x1.a01a01a01a01ap-16,
    0x1.71de3a556c734p-19,
    0x1.27e4fb7789f5cp-22,
    0x1.ae64567f544e4p-26,
    0x1.1eed8eff8d898p-29,
    0x1.6124613a86d09p-33,
    0x1.93974a8c07c9dp-37,
    0x1.ae7f3e733b81fp-41,
};

INLINE float
tanh_correctly_rounded(float x)
{
    double a = fabs((double)x);
    double y = a < TANH_SATURATION ? a + a : 0.0; /* (nan and large |x|: a harmless 0) */
    double p = INV_FACTORIAL[15];
    p = p * y + INV_FACTORIAL[14];
    p = p * y + INV_FACTORIAL[13];
    p = p * y + INV_FACTORIAL[12];
    p = p * y + INV_FACTORIAL[11];
    p = p * y + INV_FACTORIAL[10];
    p = p * y + INV_FACTORIAL[9];
    p = p * y + INV_FACTORIAL[8];
    p = p * y + INV_FACTORIAL[7];
    p = p * y + INV_FACTORIAL[6];
    p = p * y + INV_FACTORIAL[5];
    p = p * y + INV_FACTORIAL[4];
    p = p * y + INV_FACTORIAL[3];
    p = p * y + INV_FACTORIAL[2];
    p = p * y + INV_FACTORIAL[1];
    double small = p * y;
    double k = nearbyint(y * TANH_INV_LN2);
    double r = (y - k * TANH_LN2_HI) - k * TANH_LN2_LO;
    double q = INV_FACTORIAL[14];
    q = q * r + INV_FACTORIAL[13];
    q = q * r + INV_FACTORIAL[12];
    q = q * r + INV_FACTORIAL[11];
    q = q * r + INV_FACTORIAL[10];
    q = q * r + INV_FACTORIAL[9];
    q = q * r + INV_FACTORIAL[8];
    q = q * r + INV_FACTORIAL[7];
    q = q * r + INV_FACTORIAL[6];
    q = q * r + INV_FACTORIAL[5];
    q = q * r + INV_FACTORIAL[4];
    q = q * r + INV_FACTORIAL[3];
    q = q * r + INV_FACTORIAL[2];
    q = q * r + INV_FACTORIAL[1];
    q = q * r + INV_FACTORIAL[0];
    /* 2**k from its exponent bits; k <= 27 converts as an int32 (vectorisable without AVX-512) */
    double large = q * bits_to_double((uint64_t)((int32_t)k + 1023) << 52) - 1.0;
    double e = y < 0.5 ? small : large;
    float t = (float)(e / (e + 2.0));
    t = a >= TANH_SATURATION ? 1.0f : t;
    t = x != x ? x : t;
    return bits_to_float((float_to_bits(t) & 0x7fffffffu) | (float_to_bits(x) & 0x80000000u));
}

/* -- GELU, erf form: oneDNN's AVX-512 kernel ------------------------------------------------ */

/* oneDNN's minimax polynomials of GELU's erf part, P(|x|) ~ erf(|x| / sqrt 2), one per interval
 * of |x| picked from its float bits, coefficients of degree 0..5 (the same table is in
 * _math32.py). Interval 23 is the constant 1 (|x| past the right bound), 24 is the identity
 * near 0 for denormals. */
static const uint32_t GELU_ERF_POLY[6][25] = {
    {0xa6f2cb94, 0x32827792, 0x3381cc0c, 0x34523d4a, 0x351ac44d, 0x35f36d88, 0x36ee8229,
     0x37b8a3bb, 0x3867a213, 0x3940033b, 0x3a2a5a1d, 0x3ae35863, 0x3b7828f2, 0x3c08b14b,
     0x3c515ed3, 0xbb503236, 0xbd8d8e5e, 0xbe8abcd9, 0xbf0c19a2, 0xbeccb328, 0x3e176ced,
     0x3f470d99, 0x3f7abb28, 0x3f800000, 0x00000000},
    {0x3f4c422a, 0x3f4c421f, 0x3f4c4207, 0x3f4c41cb, 0x3f4c413b, 0x3f4c3fad, 0x3f4c3a2f,
     0x3f4c2d40, 0x3f4c146a, 0x3f4bc341, 0x3f4ad08c, 0x3f48f8cf, 0x3f45fac7, 0x3f404e07,
     0x3f3b980f, 0x3f48dff3, 0x3f78b21b, 0x3fbb0704, 0x40019c32, 0x3fe536d6, 0x3f81331e,
     0x3e6c8684, 0x3c98f936, 0x00000000, 0x3f800000},
    {0xb62173f4, 0x3735e4cf, 0x37f2ff89, 0x388c23be, 0x3917535c, 0x39ab2ab0, 0x3a60fadb,
     0x3af9b960, 0x3b6e5491, 0x3c0a4ec5, 0x3ca5aa8c, 0x3d2138d9, 0x3d8737d4, 0x3ddfb660,
     0x3e0f27ab, 0x3d94004b, 0xbe0efdeb, 0xbf1d96c3, 0xbf89db58, 0xbf6d9897, 0xbef69fb8,
     0xbdc4f8a8, 0xbbde6422, 0x00000000, 0x00000000},
    {0xbe081a19, 0xbe084570, 0xbe08639b, 0xbe089837, 0xbe08f409, 0xbe09ab95, 0xbe0b66d0,
     0xbe0e400a, 0xbe124df8, 0xbe1bde02, 0xbe2f19c9, 0xbe4931bf, 0xbe685fbc, 0xbe89c95f,
     0xbe96cbca, 0xbe8044aa, 0xbe0550f2, 0x3dcfd6a1, 0x3e94c826, 0x3e79345f, 0x3decec91,
     0x3ca46568, 0x3aa1e00a, 0x00000000, 0x00000000},
    {0xba3d61db, 0x39f097a3, 0x3a5845dc, 0x3ab1fa35, 0x3b0cefb8, 0x3b653ab6, 0x3bcae527,
     0x3c221712, 0x3c6c5840, 0x3cc0a703, 0x3d1dcc19, 0x3d63656d, 0x3d955907, 0x3dbf9910,
     0x3dd53f69, 0x3db7dcef, 0x3d639ebe, 0xba6ede48, 0xbd22be69, 0xbd041cf1, 0xbc64f5ab,
     0xbb097a32, 0xb8ebf380, 0x00000000, 0x00000000},
    {0x3cb7d80c, 0x3c9b6050, 0x3c978d11, 0x3c92e850, 0x3c8d058b, 0x3c848454, 0x3c6cd623,
     0x3c4c824b, 0x3c2a7935, 0x3be0b390, 0x3b0651ac, 0xbb232f53, 0xbbd42fa0, 0xbc2c5366,
     0xbc492c9e, 0xbc2a7aa6, 0xbbd55d04, 0xba823a76, 0x3b102aa8, 0x3ae25a7e, 0x3a31f792,
     0x38b84375, 0x3689bb5a, 0x00000000, 0x00000000},
};
static float gelu_erf_coeff[6][25];

#define GELU_ERF_INDEX_BIAS 0xc21fffffu /* added to |x|'s bits; >> 21 gives the interval */
#define GELU_ERF_RIGHT_BOUND 0x40b15ceeu /* past this |x| (about 5.54) erf is 1 */

INLINE float
gelu_erf_onednn(float s)
{
    uint32_t magnitude_bits = float_to_bits(s) & 0x7fffffffu;
    float magnitude = bits_to_float(magnitude_bits);
    int32_t index = (int32_t)(magnitude_bits + GELU_ERF_INDEX_BIAS) >> 21;
    index = index < 1 ? 1 : index;
    index = index > 24 ? 24 : index;
    index = bits_to_float(GELU_ERF_RIGHT_BOUND) < magnitude ? 23 : index;
    float p = gelu_erf_coeff[5][index];
    p = fmaf(p, magnitude, gelu_erf_coeff[4][index]);
    p = fmaf(p, magnitude, gelu_erf_coeff[3][index]);
    p = fmaf(p, magnitude, gelu_erf_coeff[2][index]);
    p = fmaf(p, magnitude, gelu_erf_coeff[1][index]);
    p = fmaf(p, magnitude, gelu_erf_coeff[0][index]);
    p = bits_to_float(float_to_bits(p) ^ (float_to_bits(s) & 0x80000000u));
    return (s * (p + 1.0f)) * 0.5f;
}

/* oneDNN's exp (exp_compute_vector_fwd) and the constants of its GELU derivative, as bits */
#define EXP_LN_FLT_MIN 0xc2aeac50u
#define EXP_LN_FLT_MAX 0x42b17218u
#define EXP_LOG2E 0x3fb8aa3bu
#define EXP_LN2 0x3f317218u
#define EXP_P1 0x3f7ffffbu
#define EXP_P2 0x3efffee3u
#define EXP_P3 0x3e2aad40u
#define EXP_P4 0x3d2b9d0du
#define EXP_P5 0x3c07cfceu
#define AS_P 0x3ea7ba05u /* Abramowitz and Stegun 7.1.26: t = 1 / (1 + p|x|) */
#define AS_ONE_OVER_SQRT2 0x3f3504f3u
#define AS_ONE_OVER_SQRTPI 0x3f106ebau
#define AS_A1 0x3e827906u
#define AS_A2 0xbe91a98eu
#define AS_A3 0x3fb5f0e3u
#define AS_A4 0xbfba00e3u
#define AS_A5 0x3f87dc22u

INLINE float
onednn_exp(float x)
{
    const float ln_min = bits_to_float(EXP_LN_FLT_MIN), ln_max = bits_to_float(EXP_LN_FLT_MAX);
    uint32_t keep = x < ln_min ? 0u : 0xffffffffu; /* 0 below ln(FLT_MIN) */
    x = x < ln_max ? x : ln_max; /* minps / maxps: a nan operand gives the second one */
    x = x > ln_min ? x : ln_min;
    float fx = floorf(x * bits_to_float(EXP_LOG2E) + 0.5f);
    float r = fmaf(-fx, bits_to_float(EXP_LN2), x);
    /* 2 * 2**(n-1) * p, so that n = 128 does not overflow */
    float scale = bits_to_float(((uint32_t)((int32_t)(fx - 1.0f) + 127) << 23) & keep);
    float p = bits_to_float(EXP_P5);
    p = fmaf(p, r, bits_to_float(EXP_P4));
    p = fmaf(p, r, bits_to_float(EXP_P3));
    p = fmaf(p, r, bits_to_float(EXP_P2));
    p = fmaf(p, r, bits_to_float(EXP_P1));
    p = fmaf(p, r, 1.0f);
    return (p * scale) * 2.0f;
}

/* GELU'(x) (erf form) as oneDNN's backward kernel */
INLINE float
gelu_erf_slope_onednn(float x)
{
    float r = x * bits_to_float(AS_ONE_OVER_SQRT2);
    float q = onednn_exp(-(r * r));
    float density = (r * bits_to_float(AS_ONE_OVER_SQRTPI)) * q;
    float t = 1.0f / fmaf(bits_to_float(AS_P), fabsf(r), 1.0f);
    float minus_qt = -q * t;
    float poly = bits_to_float(AS_A5);
    poly = fmaf(poly, t, bits_to_float(AS_A4));
    poly = fmaf(poly, t, bits_to_float(AS_A3));
    poly = fmaf(poly, t, bits_to_float(AS_A2));
    poly = fmaf(poly, t, bits_to_float(AS_A1));
    float erf = fmaf(minus_qt, poly, 1.0f);
    erf = bits_to_float(float_to_bits(erf) ^ (float_to_bits(r) & 0x80000000u));
    return fmaf(erf, 0.5f, density + 0.5f);
}

/* -- SLEEF's expf and tanhf (sleefsimdsp.c, the AVX-512 build: ENABLE_FMA_SP) --------------- */

#define SLEEF_R_LN2 1.442695040888963407359924681001892137426645954152985934135449406931f
#define SLEEF_L2U 0.693145751953125f
#define SLEEF_L2L 1.428606765330187045e-06f

/* vcvtps2dq: to nearest, ties to even; out of range (inf, nan) gives INT32_MIN */
INLINE int32_t
round_to_int(float u)
{
    int in_range = u >= -2147483648.0f && u < 2147483648.0f;
    return in_range ? (int32_t)nearbyintf(in_range ? u : 0.0f) : INT32_MIN;
}

/* vldexp2_vf_vf_vi2: d * 2**(e >> 1) * 2**(e - (e >> 1)), each power from its exponent bits
 * (the vector integer arithmetic wraps: uint32_t here) */
INLINE float
sleef_ldexp2(float d, int32_t e)
{
    int32_t half = e >> 1;
    return (d * bits_to_float(((uint32_t)half + 0x7fu) << 23)) *
           bits_to_float(((uint32_t)e - (uint32_t)half + 0x7fu) << 23);
}

INLINE float
sleef_expf(float d) /* xexpf, u10 */
{
    int32_t q = round_to_int(d * SLEEF_R_LN2);
    float s = fmaf((float)q, -SLEEF_L2U, d);
    s = fmaf((float)q, -SLEEF_L2L, s);
    float u = 0.000198527617612853646278381f;
    u = fmaf(u, s, 0.00139304355252534151077271f);
    u = fmaf(u, s, 0.00833336077630519866943359f);
    u = fmaf(u, s, 0.0416664853692054748535156f);
    u = fmaf(u, s, 0.166666671633720397949219f);
    u = fmaf(u, s, 0.5f);
    u = 1.0f + fmaf(s * s, u, s);
    u = sleef_ldexp2(u, q);
    u = d < -104.0f ? 0.0f : u;
    return 100.0f < d ? INFINITY : u;
}

/* SLEEF's double-float ("df") arithmetic: a value is an unevaluated sum hi + lo of two floats.
 * Only the operations xtanhf needs, in the FMA versions of df.h. */
typedef struct {
    float hi, lo;
} df_t;

INLINE df_t
df(float hi, float lo)
{
    df_t r = {hi, lo};
    return r;
}

INLINE df_t
df_add2_f(df_t x, float y) /* dfadd2_vf2_vf2_vf */
{
    float s = x.hi + y, v = s - x.hi;
    return df(s, ((x.hi - (s - v)) + (y - v)) + x.lo);
}

INLINE df_t
df_add2(df_t x, df_t y) /* dfadd2_vf2_vf2_vf2 */
{
    float s = x.hi + y.hi, v = s - x.hi;
    return df(s, ((x.hi - (s - v)) + (y.hi - v)) + (x.lo + y.lo));
}

INLINE df_t
df_add(df_t x, df_t y) /* dfadd_vf2_vf2_vf2, for |x| >= |y| */
{
    float s = x.hi + y.hi;
    return df(s, (((x.hi - s) + y.hi) + x.lo) + y.lo);
}

INLINE df_t
df_mul_f(df_t x, float y) /* dfmul_vf2_vf2_vf */
{
    float s = x.hi * y;
    return df(s, fmaf(x.lo, y, fmaf(x.hi, y, -s)));
}

INLINE df_t
df_mul(df_t x, df_t y) /* dfmul_vf2_vf2_vf2 */
{
    float s = x.hi * y.hi;
    return df(s, fmaf(x.hi, y.lo, fmaf(x.lo, y.hi, fmaf(x.hi, y.hi, -s))));
}

INLINE df_t
df_square(df_t x) /* dfsqu_vf2_vf2 */
{
    float s = x.hi * x.hi;
    return df(s, fmaf(x.hi + x.hi, x.lo, fmaf(x.hi, x.hi, -s)));
}

INLINE df_t
df_reciprocal(df_t d) /* dfrec_vf2_vf2 */
{
    float s = 1.0f / d.hi;
    return df(s, s * fmaf(-d.lo, s, fmaf(-d.hi, s, 1.0f)));
}

INLINE df_t
df_divide(df_t n, df_t d) /* dfdiv_vf2_vf2_vf2 */
{
    float t = 1.0f / d.hi, s = n.hi * t;
    float u = fmaf(t, n.hi, -s);
    float v = fmaf(-d.lo, t, fmaf(-d.hi, t, 1.0f));
    return df(s, fmaf(s, v, fmaf(n.lo, t, u)));
}

INLINE df_t
sleef_expk2f(df_t d) /* expk2f: exp of a double-float, as a double-float */
{
    int32_t q = round_to_int((d.hi + d.lo) * SLEEF_R_LN2);
    df_t s = df_add2_f(d, (float)q * -SLEEF_L2U);
    s = df_add2_f(s, (float)q * -SLEEF_L2L);
    float u = 0.1980960224e-3f;
    u = fmaf(u, s.hi, 0.1394256484e-2f);
    u = fmaf(u, s.hi, 0.8333456703e-2f);
    u = fmaf(u, s.hi, 0.4166637361e-1f);
    df_t t = df_add2_f(df_mul_f(s, u), 0.166666659414234244790680580464e+0f);
    t = df_add2_f(df_mul(s, t), 0.5f);
    t = df_add2(s, df_mul(df_square(s), t));
    float one_hi = 1.0f + t.hi; /* dfadd_vf2_vf_vf2(1, t) */
    t = df(one_hi, ((1.0f - one_hi) + t.hi) + t.lo);
    t = df(sleef_ldexp2(t.hi, q), sleef_ldexp2(t.lo, q));
    return d.hi < -104.0f ? df(0.0f, 0.0f) : t;
}

INLINE float
sleef_tanhf(float x) /* xtanhf, u10 */
{
    float y = fabsf(x);
    df_t d = sleef_expk2f(df(y, 0.0f));
    df_t e = df_reciprocal(d);
    d = df_divide(df_add(d, df(-e.hi, -e.lo)), df_add(d, e));
    y = d.hi + d.lo;
    y = fabsf(x) > 8.664339742f || y != y ? 1.0f : y;
    y = bits_to_float((float_to_bits(y) & 0x7fffffffu) | (float_to_bits(x) & 0x80000000u));
    return x != x ? bits_to_float(0xffffffffu) : y;
}

/* -- GELU, tanh form, and sigmoid: ATen's kernels ------------------------------------------- */

#define GELU_BETA ((float)(1.41421356237309504880 * 1.12837916709551257390 * 0.5)) /* sqrt(2/pi) */
#define GELU_KAPPA 0.044715f

INLINE float
gelu_tanh_inner(float x)
{
    return GELU_BETA * fmaf(GELU_KAPPA, (x * x) * x, x);
}

INLINE float
gelu_tanh_value(float x, float t)
{
    return (0.5f * x) * (1.0f + t);
}

INLINE float
gelu_tanh_slope(float x, float t)
{
    float left_slope = 0.5f * (1.0f + t);
    float tanh_slope = fmaf(-t, t, 1.0f);
    float inner_slope = GELU_BETA * fmaf(3.0f * GELU_KAPPA, x * x, 1.0f);
    float right_slope = ((0.5f * x) * tanh_slope) * inner_slope;
    return left_slope + right_slope;
}

/* The loops, written once and compiled twice (plain x86-64, and with AVX2 and FMA). Those of
 * ATen's kernels split each `chunk` into whole blocks of 32 elements (vector code) and the rest
 * (scalar code, with the C library's function). */
#define DEFINE_KERNELS(SUFFIX, ATTRIBUTE)                                                        \
    ATTRIBUTE static void tanh_loop##SUFFIX(const float *x, float *out, Py_ssize_t n)            \
    {                                                                                            \
        for (Py_ssize_t i = 0; i < n; i++)                                                       \
            out[i] = tanh_correctly_rounded(x[i]);                                               \
    }                                                                                            \
    ATTRIBUTE static void tanh_backward_loop##SUFFIX(const float *g, const float *y, float *out, \
                                                     Py_ssize_t n)                               \
    {                                                                                            \
        for (Py_ssize_t i = 0; i < n; i++)                                                       \
            out[i] = g[i] * fmaf(-y[i], y[i], 1.0f);                                             \
    }                                                                                            \
    ATTRIBUTE static void gelu_erf_loop##SUFFIX(const float *x, float *out, Py_ssize_t n)        \
    {                                                                                            \
        for (Py_ssize_t i = 0; i < n; i++)                                                       \
            out[i] = gelu_erf_onednn(x[i]);                                                      \
    }                                                                                            \
    ATTRIBUTE static void gelu_erf_backward_loop##SUFFIX(const float *g, const float *x,         \
                                                         float *out, Py_ssize_t n)               \
    {                                                                                            \
        for (Py_ssize_t i = 0; i < n; i++)                                                       \
            out[i] = g[i] * gelu_erf_slope_onednn(x[i]);                                         \
    }                                                                                            \
    ATTRIBUTE static void gelu_tanh_loop##SUFFIX(const float *x, float *out, Py_ssize_t n,       \
                                                 Py_ssize_t chunk)                               \
    {                                                                                            \
        for (Py_ssize_t start = 0; start < n; start += chunk) {                                  \
            Py_ssize_t end = start + chunk < n ? start + chunk : n;                              \
            Py_ssize_t vector_end = start + (end - start) / 32 * 32;                             \
            for (Py_ssize_t i = start; i < vector_end; i++)                                      \
                out[i] = gelu_tanh_value(x[i], sleef_tanhf(gelu_tanh_inner(x[i])));              \
            for (Py_ssize_t i = vector_end; i < end; i++)                                        \
                out[i] = gelu_tanh_value(x[i], tanhf(gelu_tanh_inner(x[i])));                    \
        }                                                                                        \
    }                                                                                            \
    ATTRIBUTE static void gelu_tanh_backward_loop##SUFFIX(const float *g, const float *x,        \
                                                          float *out, Py_ssize_t n,              \
                                                          Py_ssize_t chunk)                      \
    {                                                                                            \
        for (Py_ssize_t start = 0; start < n; start += chunk) {                                  \
            Py_ssize_t end = start + chunk < n ? start + chunk : n;                              \
            Py_ssize_t vector_end = start + (end - start) / 32 * 32;                             \
            for (Py_ssize_t i = start; i < vector_end; i++)                                      \
                out[i] = g[i] * gelu_tanh_slope(x[i], sleef_tanhf(gelu_tanh_inner(x[i])));       \
            for (Py_ssize_t i = vector_end; i < end; i++)                                        \
                out[i] = g[i] * gelu_tanh_slope(x[i], tanhf(gelu_tanh_inner(x[i])));             \
        }                                                                                        \
    }                                                                                            \
    ATTRIBUTE static void sigmoid_loop##SUFFIX(const float *x, float *out, Py_ssize_t n,         \
                                               Py_ssize_t chunk)                                 \
    {                                                                                            \
        for (Py_ssize_t start = 0; start < n; start += chunk) {                                  \
            Py_ssize_t end = start + chunk < n ? start + chunk : n;                              \
            Py_ssize_t vector_end = start + (end - start) / 32 * 32;                             \
            for (Py_ssize_t i = start; i < vector_end; i++)                                      \
                out[i] = 1.0f / (sleef_expf(-x[i]) + 1.0f);                                      \
            for (Py_ssize_t i = vector_end; i < end; i++)                                        \
                out[i] = 1.0f / (1.0f + expf(-x[i]));                                            \
        }                                                                                        \
        /* a nan comes out as PyTorch's does, sign flipped by exp(-x)'s minus and quieted (the  \
         * compiler need not keep a nan's sign: it may move the minus into a constant) */       \
        for (Py_ssize_t i = 0; i < n; i++)                                                       \
            out[i] = x[i] != x[i]                                                                \
                         ? bits_to_float((float_to_bits(x[i]) ^ 0x80000000u) | 0x00400000u)      \
                         : out[i];                                                               \
    }                                                                                            \
    ATTRIBUTE static void sigmoid_backward_loop##SUFFIX(const float *g, const float *y,          \
                                                        float *out, Py_ssize_t n)                \
    {                                                                                            \
        for (Py_ssize_t i = 0; i < n; i++)                                                       \
            out[i] = (g[i] * (1.0f - y[i])) * y[i];                                              \
    }

DEFINE_KERNELS(_generic, )
#if defined(__x86_64__) && defined(__GNUC__)
DEFINE_KERNELS(_fma, __attribute__((target("avx2,fma"))))
#define HAVE_FMA_VARIANT 1
#endif

static void (*tanh_loop)(const float *, float *, Py_ssize_t) = tanh_loop_generic;
static void (*tanh_backward_loop)(const float *, const float *, float *, Py_ssize_t) =
    tanh_backward_loop_generic;
static void (*gelu_erf_loop)(const float *, float *, Py_ssize_t) = gelu_erf_loop_generic;
static void (*gelu_erf_backward_loop)(const float *, const float *, float *, Py_ssize_t) =
    gelu_erf_backward_loop_generic;
static void (*gelu_tanh_loop)(const float *, float *, Py_ssize_t, Py_ssize_t) =
    gelu_tanh_loop_generic;
static void (*gelu_tanh_backward_loop)(const float *, const float *, float *, Py_ssize_t,
                                       Py_ssize_t) = gelu_tanh_backward_loop_generic;
static void (*sigmoid_loop)(const float *, float *, Py_ssize_t, Py_ssize_t) = sigmoid_loop_generic;
static void (*sigmoid_backward_loop)(const float *, const float *, float *, Py_ssize_t) =
    sigmoid_backward_loop_generic;

/* Borrow `count` buffers as float32 arrays of one length; 0 on success, -1 with an exception. */
static int
get_buffers(PyObject *const *args, Py_ssize_t nargs, Py_buffer *views, Py_ssize_t count,
            const char *name)
{
    if (nargs != count) {
        PyErr_Format(PyExc_TypeError, "%s takes %zd arrays, got %zd", name, count, nargs);
        return -1;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (k == count - 1 ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(args[k], &views[k], flags) < 0) {
            for (Py_ssize_t j = 0; j < k; j++)
                PyBuffer_Release(&views[j]);
            return -1;
        }
        const char *format = views[k].format;
        int is_float32 = views[k].itemsize == 4 && format != NULL &&
                         (strcmp(format, "f") == 0 || strcmp(format, "<f") == 0 ||
                          strcmp(format, "=f") == 0);
        if (!is_float32 || views[k].len != views[0].len) {
            PyErr_Format(PyExc_TypeError,
                         "%s needs C-contiguous float32 arrays of one length (argument %zd)",
                         name, k + 1);
            for (Py_ssize_t j = 0; j <= k; j++)
                PyBuffer_Release(&views[j]);
            return -1;
        }
    }
    return 0;
}

static void
release_buffers(Py_buffer *views, Py_ssize_t count)
{
    for (Py_ssize_t k = 0; k < count; k++)
        PyBuffer_Release(&views[k]);
}

static PyObject *
py_tanh(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer v[2];
    if (get_buffers(args, nargs, v, 2, "tanh") < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    tanh_loop(v[0].buf, v[1].buf, v[0].len / 4);
    Py_END_ALLOW_THREADS
    release_buffers(v, 2);
    Py_RETURN_NONE;
}

static PyObject *
py_tanh_backward(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer v[3];
    if (get_buffers(args, nargs, v, 3, "tanh_backward") < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    tanh_backward_loop(v[0].buf, v[1].buf, v[2].buf, v[0].len / 4);
    Py_END_ALLOW_THREADS
    release_buffers(v, 3);
    Py_RETURN_NONE;
}

static PyObject *
py_gelu_erf(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer v[2];
    if (get_buffers(args, nargs, v, 2, "gelu_erf") < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    gelu_erf_loop(v[0].buf, v[1].buf, v[0].len / 4);
    Py_END_ALLOW_THREADS
    release_buffers(v, 2);
    Py_RETURN_NONE;
}

static PyObject *
py_gelu_erf_backward(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer v[3];
    if (get_buffers(args, nargs, v, 3, "gelu_erf_backward") < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    gelu_erf_backward_loop(v[0].buf, v[1].buf, v[2].buf, v[0].len / 4);
    Py_END_ALLOW_THREADS
    release_buffers(v, 3);
    Py_RETURN_NONE;
}

/* The last argument of gelu_tanh / gelu_tanh_backward: the elements each thread of PyTorch's
 * parallel loop takes, >= 1. */
static int
get_chunk(PyObject *arg, Py_ssize_t *chunk, const char *name)
{
    *chunk = PyLong_AsSsize_t(arg);
    if (*chunk == -1 && PyErr_Occurred())
        return -1;
    if (*chunk < 1) {
        PyErr_Format(PyExc_ValueError, "%s: chunk must be at least 1, got %zd", name, *chunk);
        return -1;
    }
    return 0;
}

static PyObject *
py_gelu_tanh(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer v[2];
    Py_ssize_t chunk;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "gelu_tanh takes 2 arrays and a chunk, got %zd", nargs);
        return NULL;
    }
    if (get_chunk(args[2], &chunk, "gelu_tanh") < 0 || get_buffers(args, 2, v, 2, "gelu_tanh") < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    gelu_tanh_loop(v[0].buf, v[1].buf, v[0].len / 4, chunk);
    Py_END_ALLOW_THREADS
    release_buffers(v, 2);
    Py_RETURN_NONE;
}

static PyObject *
py_gelu_tanh_backward(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer v[3];
    Py_ssize_t chunk;
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "gelu_tanh_backward takes 3 arrays and a chunk, got %zd",
                     nargs);
        return NULL;
    }
    if (get_chunk(args[3], &chunk, "gelu_tanh_backward") < 0 ||
        get_buffers(args, 3, v, 3, "gelu_tanh_backward") < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    gelu_tanh_backward_loop(v[0].buf, v[1].buf, v[2].buf, v[0].len / 4, chunk);
    Py_END_ALLOW_THREADS
    release_buffers(v, 3);
    Py_RETURN_NONE;
}

static PyObject *
py_sigmoid(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer v[2];
    Py_ssize_t chunk;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "sigmoid takes 2 arrays and a chunk, got %zd", nargs);
        return NULL;
    }
    if (get_chunk(args[2], &chunk, "sigmoid") < 0 || get_buffers(args, 2, v, 2, "sigmoid") < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    sigmoid_loop(v[0].buf, v[1].buf, v[0].len / 4, chunk);
    Py_END_ALLOW_THREADS
    release_buffers(v, 2);
    Py_RETURN_NONE;
}

static PyObject *
py_sigmoid_backward(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer v[3];
    if (get_buffers(args, nargs, v, 3, "sigmoid_backward") < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    sigmoid_backward_loop(v[0].buf, v[1].buf, v[2].buf, v[0].len / 4);
    Py_END_ALLOW_THREADS
    release_buffers(v, 3);
    Py_RETURN_NONE;
}

/* Point the loops at one compiled variant: "avx2+fma" (where the processor has them) or
 * "generic". The module picks the fastest at import; the tests run both. */
static int
use_variant(const char *name)
{
    if (strcmp(name, "generic") == 0) {
        tanh_loop = tanh_loop_generic;
        tanh_backward_loop = tanh_backward_loop_generic;
        gelu_erf_loop = gelu_erf_loop_generic;
        gelu_erf_backward_loop = gelu_erf_backward_loop_generic;
        gelu_tanh_loop = gelu_tanh_loop_generic;
        gelu_tanh_backward_loop = gelu_tanh_backward_loop_generic;
        sigmoid_loop = sigmoid_loop_generic;
        sigmoid_backward_loop = sigmoid_backward_loop_generic;
        return 0;
    }
#ifdef HAVE_FMA_VARIANT
    if (strcmp(name, "avx2+fma") == 0 && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma")) {
        tanh_loop = tanh_loop_fma;
        tanh_backward_loop = tanh_backward_loop_fma;
        gelu_erf_loop = gelu_erf_loop_fma;
        gelu_erf_backward_loop = gelu_erf_backward_loop_fma;
        gelu_tanh_loop = gelu_tanh_loop_fma;
        gelu_tanh_backward_loop = gelu_tanh_backward_loop_fma;
        sigmoid_loop = sigmoid_loop_fma;
        sigmoid_backward_loop = sigmoid_backward_loop_fma;
        return 0;
    }
#endif
    return -1;
}

static PyObject *
py_variant(PyObject *module, PyObject *args)
{
    const char *name = NULL;
    if (!PyArg_ParseTuple(args, "|s:variant", &name))
        return NULL;
    if (name != NULL && use_variant(name) < 0) {
        PyErr_Format(PyExc_ValueError, "variant: '%s' is not available here", name);
        return NULL;
    }
    return PyUnicode_FromString(tanh_loop == tanh_loop_generic ? "generic" : "avx2+fma");
}

static PyMethodDef methods[] = {
    {"tanh", (PyCFunction)(void (*)(void))py_tanh, METH_FASTCALL,
     "tanh(x, out): out = tanh(x), rounded once from double precision."},
    {"tanh_backward", (PyCFunction)(void (*)(void))py_tanh_backward, METH_FASTCALL,
     "tanh_backward(g, y, out): out = g * fma(-y, y, 1), PyTorch's tanh_backward."},
    {"gelu_erf", (PyCFunction)(void (*)(void))py_gelu_erf, METH_FASTCALL,
     "gelu_erf(x, out): out = GELU(x) (erf form) as oneDNN's AVX-512 kernel computes it."},
    {"gelu_erf_backward", (PyCFunction)(void (*)(void))py_gelu_erf_backward, METH_FASTCALL,
     "gelu_erf_backward(g, x, out): out = g * GELU'(x), oneDNN's AVX-512 backward kernel."},
    {"gelu_tanh", (PyCFunction)(void (*)(void))py_gelu_tanh, METH_FASTCALL,
     "gelu_tanh(x, out, chunk): GELU (tanh form) as ATen's kernel, SLEEF's tanhf in blocks."},
    {"gelu_tanh_backward", (PyCFunction)(void (*)(void))py_gelu_tanh_backward, METH_FASTCALL,
     "gelu_tanh_backward(g, x, out, chunk): g * GELU'(x) (tanh form) as ATen's kernel."},
    {"sigmoid", (PyCFunction)(void (*)(void))py_sigmoid, METH_FASTCALL,
     "sigmoid(x, out, chunk): 1 / (1 + exp(-x)) as ATen's kernel, SLEEF's expf in blocks."},
    {"sigmoid_backward", (PyCFunction)(void (*)(void))py_sigmoid_backward, METH_FASTCALL,
     "sigmoid_backward(g, y, out): out = (g * (1 - y)) * y, PyTorch's sigmoid_backward."},
    {"variant", py_variant, METH_VARARGS,
     "variant([name]): the compiled loops in use, 'avx2+fma' or 'generic'; with a name, switch."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "micrograd.tensor._cmath32",
    "float32 tanh, GELU, sigmoid and their derivatives with PyTorch's floats (_math32.py).", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__cmath32(void)
{
    for (int degree = 0; degree < 6; degree++)
        for (int k = 0; k < 25; k++)
            gelu_erf_coeff[degree][k] = bits_to_float(GELU_ERF_POLY[degree][k]);
#ifdef HAVE_FMA_VARIANT
    __builtin_cpu_init();
    use_variant("avx2+fma"); /* stays generic where the processor lacks AVX2 or FMA */
#endif
    return PyModule_Create(&module_def);
}
