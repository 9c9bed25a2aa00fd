/* The layer_norm kernels of _clayernorm.c for one float type, included once per type (and once
 * more per type compiled for CPUs with FMA instructions). Before including, define:
 *   LN_T      the float type (float or double)
 *   LN_LANES  the lanes of PyTorch's vectors for it (8 floats, 4 doubles: 256-bit vectors)
 *   LN_FMA    the fused multiply-add (fmaf or fma), LN_SQRT the square root (sqrtf or sqrt)
 *   LN_NAME(name)  the function names' suffix
 * Every operation is the one micrograd/tensor/nn/_layernorm.py documents and replays with numpy,
 * in the same order; the file is compiled with -ffp-contract=off, so the only fused
 * multiply-adds are the LN_FMA calls, where PyTorch's compiled kernel has them.
 */

/* Chunk statistics (na, a1, a2) merged into (nb, b1, b2): PyTorch's AddMomentsVec, as compiled. */
static inline void LN_NAME(merge)(int64_t na, const LN_T *a1, const LN_T *a2, int64_t *nb,
                                  LN_T *b1, LN_T *b2)
{
    const int64_t n = na + *nb;
    const LN_T c = n == 0 ? (LN_T)0 : (LN_T)na / (LN_T)n;
    const LN_T old = (LN_T)*nb;
    for (int l = 0; l < LN_LANES; l++) {
        const LN_T d = a1[l] - b1[l];
        const LN_T dc = d * c;
        const LN_T m2 = b2[l] + a2[l];
        b1[l] = b1[l] + dc;
        b2[l] = LN_FMA(dc, d * old, m2);
    }
    *nb = n;
}

/* 1 / (k + 1) for the k-th vector of a chunk, rounded to LN_T (PyTorch's c_vecs) */
static const LN_T LN_NAME(reciprocals)[LN_CHUNK] = {
    (LN_T)1 / (LN_T)1,  (LN_T)1 / (LN_T)2,  (LN_T)1 / (LN_T)3,  (LN_T)1 / (LN_T)4,
    (LN_T)1 / (LN_T)5,  (LN_T)1 / (LN_T)6,  (LN_T)1 / (LN_T)7,  (LN_T)1 / (LN_T)8,
    (LN_T)1 / (LN_T)9,  (LN_T)1 / (LN_T)10, (LN_T)1 / (LN_T)11, (LN_T)1 / (LN_T)12,
    (LN_T)1 / (LN_T)13, (LN_T)1 / (LN_T)14, (LN_T)1 / (LN_T)15, (LN_T)1 / (LN_T)16,
};

/* The mean and biased variance of one row of `size` values (RowwiseMoments). */
static void LN_NAME(moments)(const LN_T *x, int64_t size, LN_T *mean, LN_T *var)
{
    const int64_t n = size / LN_LANES; /* whole vectors */
    const int64_t chunks = (n + LN_CHUNK - 1) / LN_CHUNK;
    int depth = 1;
    if (chunks > 2) { /* ceil(log2(chunks)) */
        depth = 0;
        for (int64_t v = chunks - 1; v; v >>= 1)
            depth++;
    }
    int64_t count[LN_MAX_DEPTH];
    LN_T m1[LN_MAX_DEPTH][LN_LANES], m2[LN_MAX_DEPTH][LN_LANES];
    memset(count, 0, depth * sizeof count[0]); /* only the levels in use: this runs per row */
    memset(m1, 0, depth * sizeof m1[0]);
    memset(m2, 0, depth * sizeof m2[0]);
    for (int64_t i = 0; i < chunks; i++) {
        const int64_t k = n - i * LN_CHUNK < LN_CHUNK ? n - i * LN_CHUNK : LN_CHUNK;
        LN_T c1[LN_LANES] = {0}, c2[LN_LANES] = {0};
        for (int64_t j = 0; j < k; j++) {
            const LN_T *v = x + (i * LN_CHUNK + j) * LN_LANES;
            const LN_T rcp = LN_NAME(reciprocals)[j];
            for (int l = 0; l < LN_LANES; l++) {
                const LN_T d = v[l] - c1[l];
                c1[l] = LN_FMA(d, rcp, c1[l]);
                c2[l] = LN_FMA(d, v[l] - c1[l], c2[l]);
            }
        }
        LN_NAME(merge)(k, c1, c2, &count[0], m1[0], m2[0]);
        int64_t mask = i + 1;
        for (int j = 1; j < depth && (mask & 1) == 0; j++) {
            LN_NAME(merge)(count[j - 1], m1[j - 1], m2[j - 1], &count[j], m1[j], m2[j]);
            count[j - 1] = 0;
            memset(m1[j - 1], 0, sizeof m1[j - 1]);
            memset(m2[j - 1], 0, sizeof m2[j - 1]);
            mask >>= 1;
        }
    }
    for (int j = 1; j < depth; j++)
        LN_NAME(merge)(count[j], m1[j], m2[j], &count[0], m1[0], m2[0]);
    /* the values after the last whole vector, one by one (no fused multiply-add there) */
    int64_t t = 0;
    LN_T s1 = 0, s2 = 0;
    for (int64_t i = n * LN_LANES; i < size; i++) {
        const LN_T d = x[i] - s1;
        t++;
        s1 = s1 + d / (LN_T)t;
        s2 = s2 + d * (x[i] - s1);
    }
    /* then the lanes, lane 0 first */
    for (int l = 0; l < LN_LANES; l++) {
        const int64_t total = t + n;
        const LN_T c = total == 0 ? (LN_T)0 : (LN_T)n / (LN_T)total;
        const LN_T d = m1[0][l] - s1;
        s1 = LN_FMA(c, d, s1);
        s2 = s2 + LN_FMA(d * d * c, (LN_T)t, m2[0][l]);
        t = total;
    }
    *mean = s1;
    *var = s2 / (LN_T)size;
}

static void LN_NAME(forward)(const LN_T *x, const LN_T *w, const LN_T *b, LN_T eps, int64_t rows,
                             int64_t size, LN_T *y, LN_T *mean, LN_T *rstd)
{
    for (int64_t r = 0; r < rows; r++) {
        const LN_T *xr = x + r * size;
        LN_T *yr = y + r * size;
        LN_T mu, var;
        LN_NAME(moments)(xr, size, &mu, &var);
        const LN_T a = (LN_T)1 / LN_SQRT(var + eps);
        mean[r] = mu;
        rstd[r] = a;
        if (w && b) {
            for (int64_t j = 0; j < size; j++)
                yr[j] = LN_FMA((xr[j] - mu) * a, w[j], b[j]);
        } else if (b) {
            for (int64_t j = 0; j < size; j++)
                yr[j] = LN_FMA(xr[j] - mu, a, b[j]);
        } else if (w) {
            for (int64_t j = 0; j < size; j++)
                yr[j] = (xr[j] - mu) * a * w[j] + (LN_T)0; /* -0.0 becomes 0.0, as in PyTorch */
        } else {
            for (int64_t j = 0; j < size; j++)
                yr[j] = (xr[j] - mu) * a + (LN_T)0;
        }
    }
}

/* The lanes of a vector accumulator added as PyTorch's vec_reduce_all does. */
static inline LN_T LN_NAME(lane_reduce)(LN_T *acc)
{
#if LN_LANES == 8
    for (int width = LN_LANES / 2; width >= 1; width /= 2) /* floats: a shuffle tree */
        for (int l = 0; l < width; l++)
            acc[l] = acc[l] + acc[l + width];
    return acc[0];
#else
    LN_T total = acc[0]; /* doubles: lane after lane */
    for (int l = 1; l < LN_LANES; l++)
        total = total + acc[l];
    return total;
#endif
}

/* Row sums in the order of vec::reduce_all / map2_reduce_all / map3_reduce_all: the first
 * whole vector is the accumulator's start, the other whole vectors are added into it (their
 * products rounded first), a last partial vector is added into its first lanes with its last
 * product fused into the addition, then the lanes are reduced; a row shorter than a vector is
 * added left to right. */
static LN_T LN_NAME(sum1)(const LN_T *a, int64_t size)
{
    if (size < LN_LANES) {
        LN_T total = size ? a[0] : (LN_T)0;
        for (int64_t j = 1; j < size; j++)
            total = total + a[j];
        return total;
    }
    LN_T acc[LN_LANES];
    for (int l = 0; l < LN_LANES; l++)
        acc[l] = a[l];
    int64_t d = LN_LANES;
    for (; d + LN_LANES <= size; d += LN_LANES)
        for (int l = 0; l < LN_LANES; l++)
            acc[l] = acc[l] + a[d + l];
    for (int64_t j = d; j < size; j++)
        acc[j - d] = acc[j - d] + a[j];
    return LN_NAME(lane_reduce)(acc);
}

/* sum of a[j] * b[j] */
static LN_T LN_NAME(sum2)(const LN_T *a, const LN_T *b, int64_t size)
{
    if (size < LN_LANES) {
        LN_T total = size ? a[0] * b[0] : (LN_T)0;
        for (int64_t j = 1; j < size; j++)
            total = total + a[j] * b[j];
        return total;
    }
    LN_T acc[LN_LANES];
    for (int l = 0; l < LN_LANES; l++)
        acc[l] = a[l] * b[l];
    int64_t d = LN_LANES;
    for (; d + LN_LANES <= size; d += LN_LANES)
        for (int l = 0; l < LN_LANES; l++)
            acc[l] = acc[l] + a[d + l] * b[d + l];
    for (int64_t j = d; j < size; j++)
        acc[j - d] = LN_FMA(a[j], b[j], acc[j - d]);
    return LN_NAME(lane_reduce)(acc);
}

/* sum of a[j] * b[j] * c[j], a * b rounded first */
static LN_T LN_NAME(sum3)(const LN_T *a, const LN_T *b, const LN_T *c, int64_t size)
{
    if (size < LN_LANES) {
        LN_T total = size ? a[0] * b[0] * c[0] : (LN_T)0;
        for (int64_t j = 1; j < size; j++)
            total = total + a[j] * b[j] * c[j];
        return total;
    }
    LN_T acc[LN_LANES];
    for (int l = 0; l < LN_LANES; l++)
        acc[l] = a[l] * b[l] * c[l];
    int64_t d = LN_LANES;
    for (; d + LN_LANES <= size; d += LN_LANES)
        for (int l = 0; l < LN_LANES; l++)
            acc[l] = acc[l] + a[d + l] * b[d + l] * c[d + l];
    for (int64_t j = d; j < size; j++)
        acc[j - d] = LN_FMA(a[j] * b[j], c[j], acc[j - d]);
    return LN_NAME(lane_reduce)(acc);
}

/* Gradients of layer_norm: dx (rows x size) if dx is given, dw and db (size) if given, the
 * weight and bias gradients summed per thread over PyTorch's split of the rows among `threads`
 * threads, then over the threads. part is scratch space of 2 * size values. */
static void LN_NAME(backward)(const LN_T *g, const LN_T *x, const LN_T *mean, const LN_T *rstd,
                              const LN_T *w, int64_t rows, int64_t size, int64_t threads,
                              LN_T *dx, LN_T *dw, LN_T *db, LN_T *part)
{
    const LN_T scale = (LN_T)1 / (LN_T)size;
    if (dx) {
        for (int64_t r = 0; r < rows; r++) {
            const LN_T *gr = g + r * size, *xr = x + r * size;
            LN_T *dxr = dx + r * size;
            const LN_T ds = w ? LN_NAME(sum3)(gr, xr, w, size) : LN_NAME(sum2)(gr, xr, size);
            const LN_T dbias = w ? LN_NAME(sum2)(gr, w, size) : LN_NAME(sum1)(gr, size);
            const LN_T a = rstd[r], mu = mean[r];
            const LN_T b = LN_FMA(dbias, mu, -ds) * a * a * a * scale;
            const LN_T c = LN_FMA(-b, mu, -(dbias * a * scale));
            if (w) {
                for (int64_t j = 0; j < size; j++)
                    dxr[j] = LN_FMA(b, xr[j], gr[j] * a * w[j]) + c;
            } else {
                for (int64_t j = 0; j < size; j++)
                    dxr[j] = LN_FMA(b, xr[j], gr[j] * a) + c;
            }
        }
    }
    if (!dw && !db)
        return;
    LN_T *part_w = part, *part_b = part + size;
    for (int64_t j = 0; j < size; j++) {
        if (dw)
            dw[j] = 0;
        if (db)
            db[j] = 0;
    }
    int64_t share = rows;
    if (threads > 1 && rows > 1) {
        const int64_t used = threads < rows ? threads : rows;
        share = (rows + used - 1) / used;
    }
    for (int64_t start = 0; start < rows; start += share) {
        const int64_t end = start + share < rows ? start + share : rows;
        memset(part, 0, 2 * (size_t)size * sizeof(LN_T));
        for (int64_t r = start; r < end; r++) {
            const LN_T *gr = g + r * size, *xr = x + r * size;
            const LN_T a = rstd[r], shift = -a * mean[r];
            if (dw)
                for (int64_t j = 0; j < size; j++)
                    part_w[j] = LN_FMA(gr[j], LN_FMA(a, xr[j], shift), part_w[j]);
            if (db)
                for (int64_t j = 0; j < size; j++)
                    part_b[j] = part_b[j] + gr[j];
        }
        for (int64_t j = 0; j < size; j++) {
            if (dw)
                dw[j] = dw[j] + part_w[j];
            if (db)
                db[j] = db[j] + part_b[j];
        }
    }
}
