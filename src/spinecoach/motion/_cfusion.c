/*
 * spinecoach.motion._cfusion: x-io Fusion's AHRS and gyroscope-bias estimator in one
 * object, with a loop over whole arrays of samples.
 *
 * Our own small binding (MIT, like spinecoach) around the unmodified Fusion C sources in
 * _fusion_c/ (x-io Technologies, MIT; see _fusion_c/README.md). It makes exactly the calls
 * spinecoach.motion.fusion made through imufusion for every sample, in the same order and
 * with the same float32 conversions:
 *
 *     gyr = FusionBiasUpdate(bias, (float) gyr_dps)
 *     if period != 1: FusionAhrsSetSamplePeriod(ahrs, (float) (period / rate))
 *     FusionAhrsUpdate[NoMagnetometer](ahrs, gyr, (float) (acc / acc_scale)[, (float) mag])
 *     if period != 1: FusionAhrsSetSamplePeriod(ahrs, (float) (1.0 / rate))
 *     out = (double) FusionAhrsGetQuaternion(ahrs)
 *
 * so the quaternions are those of imufusion's per-sample loop, bit for bit. The rare
 * events (start from gravity, the initial bias seed, the re-seed after a gap) stay in
 * Python (spinecoach.motion.fusion), which calls the small setters below between runs.
 *
 * Arrays come in through the buffer protocol (any strides; float64, periods int64), so
 * the module needs no numpy headers to build. The loop releases the GIL.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The array kernels below must compute what numpy's elementwise expressions compute, in
 * the same order: no fused multiply-add (numpy never fuses). x86-64 has no FMA without
 * -march flags; these pragmas keep other targets (aarch64) from contracting either. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "_fusion_c/FusionAhrs.h"
#include "_fusion_c/FusionBias.h"

typedef struct {
    PyObject_HEAD
    FusionAhrs ahrs;
    FusionBias bias;
    double rate_hz;
    float unit_period;
    int busy;
} CFusion;

/* ---- buffers --------------------------------------------------------------------- */

typedef struct {
    Py_buffer view;
    int held;
} Buf;

static void buf_release(Buf *b) {
    if (b->held) {
        PyBuffer_Release(&b->view);
        b->held = 0;
    }
}

static int is_float64(const Py_buffer *v) {
    const char *f = v->format == NULL ? "B" : v->format;
    if (*f == '<' || *f == '=' || *f == '@') {
        f++;
    }
    return v->itemsize == 8 && f[0] == 'd' && f[1] == '\0';
}

static int is_int64(const Py_buffer *v) {
    const char *f = v->format == NULL ? "B" : v->format;
    if (*f == '<' || *f == '=' || *f == '@') {
        f++;
    }
    return v->itemsize == 8 && (f[0] == 'q' || f[0] == 'l') && f[1] == '\0';
}

/* A (n, cols) float64 array (cols > 0) or a (n,) int64 array (cols == 0). */
static int get_array(PyObject *obj, Buf *b, const char *name, Py_ssize_t cols, int writable) {
    int flags = PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &b->view, flags) != 0) {
        PyErr_Format(PyExc_TypeError,
                     "%s must be a%s numpy array (got %.100s)",
                     name, writable ? " writable" : "", Py_TYPE(obj)->tp_name);
        return -1;
    }
    b->held = 1;
    if (cols > 0) {
        if (b->view.ndim != 2 || b->view.shape[1] != cols || !is_float64(&b->view)) {
            PyErr_Format(PyExc_ValueError,
                         "%s must be a float64 array of shape (n, %zd); convert it with "
                         "np.asarray(..., dtype=np.float64)", name, cols);
            buf_release(b);
            return -1;
        }
    } else if (b->view.ndim != 1 || !is_int64(&b->view)) {
        PyErr_Format(PyExc_ValueError, "%s must be an int64 array of shape (n,)", name);
        buf_release(b);
        return -1;
    }
    return 0;
}

#define AT(b, i, j) (*(const double *) ((const char *) (b).view.buf + (i) * (b).view.strides[0] + (j) * (b).view.strides[1]))

/* A float64 array of ndim dimensions; dim1 >= 0 checks the second dimension. */
static int get_f64(PyObject *obj, Buf *b, const char *name, int ndim, Py_ssize_t dim1,
                   int writable) {
    int flags = PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &b->view, flags) != 0) {
        return -1;
    }
    b->held = 1;
    if (b->view.ndim != ndim || !is_float64(&b->view) || (dim1 >= 0 && b->view.shape[1] != dim1)) {
        PyErr_Format(PyExc_ValueError, "%s: float64 array of %d dimensions expected", name, ndim);
        buf_release(b);
        return -1;
    }
    return 0;
}

/* A (n,) uint8 array. */
static int get_u8(PyObject *obj, Buf *b, const char *name, int writable) {
    int flags = PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &b->view, flags) != 0) {
        return -1;
    }
    b->held = 1;
    const char *fmt = b->view.format == NULL ? "B" : b->view.format;
    if (b->view.ndim != 1 || b->view.itemsize != 1 || (fmt[0] != 'B' && fmt[0] != 'b')) {
        PyErr_Format(PyExc_ValueError, "%s: uint8 array of one dimension expected", name);
        buf_release(b);
        return -1;
    }
    return 0;
}

#define AT1(b, i) (*(const double *) ((const char *) (b).view.buf + (i) * (b).view.strides[0]))
#define OUT1(b, i) (*(double *) ((char *) (b).view.buf + (i) * (b).view.strides[0]))
#define OUT2(b, i, j) (*(double *) ((char *) (b).view.buf + (i) * (b).view.strides[0] + (j) * (b).view.strides[1]))

/* interpolate_rows(grid (m,), time (n,), values (n, k), flags (n,) uint8, max_gap, gap_flag,
 * out (m, k), out_flags (m,) uint8) -> bool
 * For each grid time g the bracket hi = the first sample with time >= g (numpy's
 * searchsorted side="left", found by one merge pass), lo = hi - 1; out = v0 + (v1 - v0) *
 * frac with frac = (g - t0) / (t1 - t0), NaN across a gap (t1 - t0 > max_gap), flags OR-ed
 * over the bracket plus gap_flag. False (fall back to numpy) when time or grid is not
 * non-decreasing or a grid time is outside (time[0], time[-1]]. */
static PyObject *k_interpolate_rows(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *g_obj, *t_obj, *v_obj, *f_obj, *o_obj, *of_obj;
    double max_gap;
    unsigned char gap_flag;
    if (!PyArg_ParseTuple(args, "OOOOdbOO", &g_obj, &t_obj, &v_obj, &f_obj, &max_gap, &gap_flag,
                          &o_obj, &of_obj)) {
        return NULL;
    }
    Buf g = {0}, t = {0}, v = {0}, f = {0}, o = {0}, of = {0};
    PyObject *result = NULL;
    if (get_f64(g_obj, &g, "grid", 1, -1, 0) != 0 || get_f64(t_obj, &t, "time", 1, -1, 0) != 0 ||
        get_f64(v_obj, &v, "values", 2, -1, 0) != 0 || get_u8(f_obj, &f, "flags", 0) != 0 ||
        get_f64(o_obj, &o, "out", 2, -1, 1) != 0 || get_u8(of_obj, &of, "out_flags", 1) != 0) {
        goto done;
    }
    const Py_ssize_t m = g.view.shape[0], n = t.view.shape[0], k = v.view.shape[1];
    if (v.view.shape[0] != n || f.view.shape[0] != n || o.view.shape[0] != m ||
        o.view.shape[1] != k || of.view.shape[0] != m) {
        PyErr_SetString(PyExc_ValueError, "interpolate_rows: shapes do not match");
        goto done;
    }
    int ok = 1;
    for (Py_ssize_t i = 1; i < n && ok; i++) {
        ok = AT1(t, i) >= AT1(t, i - 1);
    }
    Py_ssize_t i = 0;
    for (Py_ssize_t j = 0; j < m && ok; j++) {
        const double gj = AT1(g, j);
        if (j > 0 && !(gj >= AT1(g, j - 1))) {
            ok = 0;
            break;
        }
        while (i < n && AT1(t, i) < gj) {
            i++;
        }
        if (i == 0 || i == n) {
            ok = 0;
            break;
        }
        const Py_ssize_t lo = i - 1;
        const double t0 = AT1(t, lo), t1 = AT1(t, i);
        const double frac = (gj - t0) / (t1 - t0);
        const int gap = (t1 - t0) > max_gap;
        for (Py_ssize_t c = 0; c < k; c++) {
            const double v0 = AT(v, lo, c);
            OUT2(o, j, c) = gap ? NAN : v0 + (AT(v, i, c) - v0) * frac;
        }
        const unsigned char *fb = (const unsigned char *) f.view.buf;
        unsigned char bits = fb[lo * f.view.strides[0]] | fb[i * f.view.strides[0]];
        if (gap) {
            bits |= gap_flag;
        }
        *((unsigned char *) of.view.buf + j * of.view.strides[0]) = bits;
    }
    result = PyBool_FromLong(ok);
done:
    buf_release(&g);
    buf_release(&t);
    buf_release(&v);
    buf_release(&f);
    buf_release(&o);
    buf_release(&of);
    return result;
}

/* segment_terms(up (n, 3), q (n, 4), axes (3, 3), c (4,), u (3, n), out (n, 6)):
 * u = axes @ up per sample (sum in index order), out[:, 2:] = q (x) c (Hamilton). */
static PyObject *k_segment_terms(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *up_obj, *q_obj, *a_obj, *c_obj, *u_obj, *o_obj;
    if (!PyArg_ParseTuple(args, "OOOOOO", &up_obj, &q_obj, &a_obj, &c_obj, &u_obj, &o_obj)) {
        return NULL;
    }
    Buf up = {0}, q = {0}, a = {0}, c = {0}, u = {0}, o = {0};
    PyObject *result = NULL;
    if (get_f64(up_obj, &up, "up", 2, 3, 0) != 0 || get_f64(q_obj, &q, "q", 2, 4, 0) != 0 ||
        get_f64(a_obj, &a, "axes", 2, 3, 0) != 0 || get_f64(c_obj, &c, "c", 1, -1, 0) != 0 ||
        get_f64(u_obj, &u, "u", 2, -1, 1) != 0 || get_f64(o_obj, &o, "out", 2, 6, 1) != 0) {
        goto done;
    }
    const Py_ssize_t n = up.view.shape[0];
    if (q.view.shape[0] != n || o.view.shape[0] != n || a.view.shape[0] != 3 ||
        c.view.shape[0] != 4 || u.view.shape[0] != 3 || u.view.shape[1] != n) {
        PyErr_SetString(PyExc_ValueError, "segment_terms: shapes do not match");
        goto done;
    }
    double m[3][3];
    for (int r = 0; r < 3; r++) {
        for (int k = 0; k < 3; k++) {
            m[r][k] = AT(a, r, k);
        }
    }
    const double bw = AT1(c, 0), bx = AT1(c, 1), by = AT1(c, 2), bz = AT1(c, 3);
    for (Py_ssize_t i = 0; i < n; i++) {
        const double u0 = AT(up, i, 0), u1 = AT(up, i, 1), u2 = AT(up, i, 2);
        for (int r = 0; r < 3; r++) {
            OUT2(u, r, i) = u0 * m[r][0] + u1 * m[r][1] + u2 * m[r][2];
        }
        const double aw = AT(q, i, 0), ax = AT(q, i, 1), ay = AT(q, i, 2), az = AT(q, i, 3);
        OUT2(o, i, 2) = aw * bw - ax * bx - ay * by - az * bz;
        OUT2(o, i, 3) = aw * bx + ax * bw + ay * bz - az * by;
        OUT2(o, i, 4) = aw * by - ax * bz + ay * bw + az * bx;
        OUT2(o, i, 5) = aw * bz + ax * by - ay * bx + az * bw;
    }
    result = Py_NewRef(Py_None);
done:
    buf_release(&up);
    buf_release(&q);
    buf_release(&a);
    buf_release(&c);
    buf_release(&u);
    buf_release(&o);
    return result;
}

/* axial_terms(lower (m, 4), upper (m, 4), dw, dx, dy, dz, r20 (m,), r22 (m,)):
 * M = conj(unit lower) (x) delta (x) unit upper; r20 = 2 (x z - w y), r22 = 1 - 2 (x^2 + y^2). */
static PyObject *k_axial_terms(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *l_obj, *u_obj, *r20_obj, *r22_obj;
    double bw, bx, by, bz;
    if (!PyArg_ParseTuple(args, "OOddddOO", &l_obj, &u_obj, &bw, &bx, &by, &bz, &r20_obj,
                          &r22_obj)) {
        return NULL;
    }
    Buf l = {0}, u = {0}, r20 = {0}, r22 = {0};
    PyObject *result = NULL;
    if (get_f64(l_obj, &l, "lower", 2, 4, 0) != 0 || get_f64(u_obj, &u, "upper", 2, 4, 0) != 0 ||
        get_f64(r20_obj, &r20, "r20", 1, -1, 1) != 0 ||
        get_f64(r22_obj, &r22, "r22", 1, -1, 1) != 0) {
        goto done;
    }
    const Py_ssize_t m = l.view.shape[0];
    if (u.view.shape[0] != m || r20.view.shape[0] != m || r22.view.shape[0] != m) {
        PyErr_SetString(PyExc_ValueError, "axial_terms: shapes do not match");
        goto done;
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        const double lw = AT(l, i, 0), lx = AT(l, i, 1), ly = AT(l, i, 2), lz = AT(l, i, 3);
        const double uw = AT(u, i, 0), ux = AT(u, i, 1), uy = AT(u, i, 2), uz = AT(u, i, 3);
        const double nl = sqrt(lw * lw + lx * lx + ly * ly + lz * lz);
        const double nu = sqrt(uw * uw + ux * ux + uy * uy + uz * uz);
        const double qw = uw / nu, qx = ux / nu, qy = uy / nu, qz = uz / nu;
        const double aw = lw / nl, ax = -(lx / nl), ay = -(ly / nl), az = -(lz / nl);
        const double pw = aw * bw - ax * bx - ay * by - az * bz;
        const double px = aw * bx + ax * bw + ay * bz - az * by;
        const double py = aw * by - ax * bz + ay * bw + az * bx;
        const double pz = aw * bz + ax * by - ay * bx + az * bw;
        const double w = pw * qw - px * qx - py * qy - pz * qz;
        const double x = pw * qx + px * qw + py * qz - pz * qy;
        const double y = pw * qy - px * qz + py * qw + pz * qx;
        const double z = pw * qz + px * qy - py * qx + pz * qw;
        OUT1(r20, i) = 2.0 * (x * z - w * y);
        OUT1(r22, i) = 1.0 - 2.0 * (x * x + y * y);
    }
    result = Py_NewRef(Py_None);
done:
    buf_release(&l);
    buf_release(&u);
    buf_release(&r20);
    buf_release(&r22);
    return result;
}

/* up_rows(q (n, 4), out (n, 3)): earth-up in the sensor frame, the third row of the
 * rotation matrix normalised (spinecoach.motion.gravity.up_from_quaternion). */
static PyObject *k_up_rows(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *q_obj, *o_obj;
    if (!PyArg_ParseTuple(args, "OO", &q_obj, &o_obj)) {
        return NULL;
    }
    Buf q = {0}, o = {0};
    PyObject *result = NULL;
    if (get_f64(q_obj, &q, "q", 2, 4, 0) != 0 || get_f64(o_obj, &o, "out", 2, 3, 1) != 0) {
        goto done;
    }
    const Py_ssize_t n = q.view.shape[0];
    if (o.view.shape[0] != n) {
        PyErr_SetString(PyExc_ValueError, "up_rows: shapes do not match");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const double w = AT(q, i, 0), x = AT(q, i, 1), y = AT(q, i, 2), z = AT(q, i, 3);
        const double ux = 2.0 * (x * z - w * y);
        const double uy = 2.0 * (y * z + w * x);
        const double uz = w * w - x * x - y * y + z * z;
        const double norm = sqrt(ux * ux + uy * uy + uz * uz);
        OUT2(o, i, 0) = ux / norm;
        OUT2(o, i, 1) = uy / norm;
        OUT2(o, i, 2) = uz / norm;
    }
    result = Py_NewRef(Py_None);
done:
    buf_release(&q);
    buf_release(&o);
    return result;
}

static inline double nan_max(const double a, const double b) {
    /* numpy.maximum: NaN if either is NaN */
    if (isnan(a) || isnan(b)) {
        return NAN;
    }
    return a >= b ? a : b;
}

/* abs_max_rows(values (n, 3), out (n,)): the largest |x|, |y|, |z| of each row. */
static PyObject *k_abs_max_rows(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *v_obj, *o_obj;
    if (!PyArg_ParseTuple(args, "OO", &v_obj, &o_obj)) {
        return NULL;
    }
    Buf v = {0}, o = {0};
    PyObject *result = NULL;
    if (get_f64(v_obj, &v, "values", 2, 3, 0) != 0 || get_f64(o_obj, &o, "out", 1, -1, 1) != 0) {
        goto done;
    }
    const Py_ssize_t n = v.view.shape[0];
    if (o.view.shape[0] != n) {
        PyErr_SetString(PyExc_ValueError, "abs_max_rows: shapes do not match");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        OUT1(o, i) = nan_max(nan_max(fabs(AT(v, i, 0)), fabs(AT(v, i, 1))), fabs(AT(v, i, 2)));
    }
    result = Py_NewRef(Py_None);
done:
    buf_release(&v);
    buf_release(&o);
    return result;
}

/* whole_periods(time (n,), rate, start, stop, out (n,) int64) -> bool
 * spinecoach.motion.fusion_steps.sample_periods for the samples start..stop-1 of one
 * segment: idx = rint((t - t[start]) * rate), last_k = k + running max(idx - k),
 * out[k] = last_k - last_{k-1}. False (nothing trustworthy written) on a non-finite index. */
static PyObject *k_whole_periods(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *t_obj, *o_obj;
    double rate;
    Py_ssize_t start, stop;
    if (!PyArg_ParseTuple(args, "OdnnO", &t_obj, &rate, &start, &stop, &o_obj)) {
        return NULL;
    }
    Buf t = {0}, o = {0};
    PyObject *result = NULL;
    if (get_f64(t_obj, &t, "time", 1, -1, 0) != 0 || get_array(o_obj, &o, "out", 0, 1) != 0) {
        goto done;
    }
    const Py_ssize_t n = t.view.shape[0];
    if (o.view.shape[0] != n || start < 0 || stop > n || start > stop) {
        PyErr_SetString(PyExc_ValueError, "whole_periods: shapes or bounds do not match");
        goto done;
    }
    int ok = 1;
    if (stop - start >= 2) {
        const double t0 = AT1(t, start);
        int64_t running = 0, last_prev = 0;  /* sample start: idx 0, k 0 */
        for (Py_ssize_t k = 1; k < stop - start; k++) {
            const double x = nearbyint((AT1(t, start + k) - t0) * rate);
            if (!(fabs(x) < 9.0e18)) {
                ok = 0;
                break;
            }
            const int64_t d = (int64_t) x - (int64_t) k;
            running = d > running ? d : running;
            const int64_t last = (int64_t) k + running;
            *(int64_t *) ((char *) o.view.buf + (start + k) * o.view.strides[0]) = last - last_prev;
            last_prev = last;
        }
    }
    result = PyBool_FromLong(ok);
done:
    buf_release(&t);
    buf_release(&o);
    return result;
}

/* vertical_rows(acc (n, 3), q (n, 4), gravity, out (n,)): the earth-vertical component of
 * the specific force minus gravity (spinecoach.motion.height.vertical_acceleration_mps2). */
static PyObject *k_vertical_rows(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *a_obj, *q_obj, *o_obj;
    double gravity;
    if (!PyArg_ParseTuple(args, "OOdO", &a_obj, &q_obj, &gravity, &o_obj)) {
        return NULL;
    }
    Buf a = {0}, q = {0}, o = {0};
    PyObject *result = NULL;
    if (get_f64(a_obj, &a, "acc", 2, 3, 0) != 0 || get_f64(q_obj, &q, "q", 2, 4, 0) != 0 ||
        get_f64(o_obj, &o, "out", 1, -1, 1) != 0) {
        goto done;
    }
    const Py_ssize_t n = a.view.shape[0];
    if (q.view.shape[0] != n || o.view.shape[0] != n) {
        PyErr_SetString(PyExc_ValueError, "vertical_rows: shapes do not match");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const double w = AT(q, i, 0), x = AT(q, i, 1), y = AT(q, i, 2), z = AT(q, i, 3);
        const double r20 = 2.0 * (x * z - w * y);
        const double r21 = 2.0 * (y * z + w * x);
        const double r22 = 1.0 - 2.0 * (x * x + y * y);
        const double up = r20 * AT(a, i, 0) + r21 * AT(a, i, 1) + r22 * AT(a, i, 2);
        OUT1(o, i) = up - gravity;
    }
    result = Py_NewRef(Py_None);
done:
    buf_release(&a);
    buf_release(&q);
    buf_release(&o);
    return result;
}

static PyMethodDef module_methods[] = {
    {"vertical_rows", k_vertical_rows, METH_VARARGS,
     "vertical_rows(acc, q, gravity, out): earth-vertical acceleration minus gravity"},
    {"whole_periods", k_whole_periods, METH_VARARGS,
     "whole_periods(time, rate, start, stop, out) -> bool: whole sample periods of a segment"},
    {"up_rows", k_up_rows, METH_VARARGS, "up_rows(q, out): earth-up in the sensor frame"},
    {"abs_max_rows", k_abs_max_rows, METH_VARARGS,
     "abs_max_rows(values, out): largest absolute x, y, z of each row (NaN propagates)"},
    {"interpolate_rows", k_interpolate_rows, METH_VARARGS,
     "interpolate_rows(grid, time, values, flags, max_gap, gap_flag, out, out_flags) -> "
     "bool: rows of values at the grid times (see spinecoach.motion.angles)"},
    {"segment_terms", k_segment_terms, METH_VARARGS,
     "segment_terms(up, q, axes, c, u, out): up in segment axes, and q (x) c into out[:, 2:]"},
    {"axial_terms", k_axial_terms, METH_VARARGS,
     "axial_terms(lower, upper, dw, dx, dy, dz, r20, r22): rotation-matrix terms of "
     "conj(lower) (x) delta (x) upper"},
    {NULL, NULL, 0, NULL},
};

/* ---- the object ------------------------------------------------------------------- */

static int cfusion_init(CFusion *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {
        "rate_hz", "gain", "gyroscope_range_dps", "acceleration_rejection_deg",
        "magnetic_rejection_deg", "rejection_timeout_s", "bias_threshold_dps",
        "bias_period_s", NULL,
    };
    double rate_hz, gain, gyr_range, acc_rej, mag_rej, timeout_s, bias_threshold, bias_period;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$dddddddd", kwlist, &rate_hz, &gain,
                                     &gyr_range, &acc_rej, &mag_rej, &timeout_s,
                                     &bias_threshold, &bias_period)) {
        return -1;
    }
    if (!(rate_hz > 0.0)) {
        PyErr_SetString(PyExc_ValueError, "rate_hz must be positive");
        return -1;
    }
    /* As imufusion: its settings objects hold floats (Python floats cast to float). */
    const FusionAhrsSettings settings = {
        .sampleRate = (float) rate_hz,
        .convention = FusionConventionNwu,
        .gain = (float) gain,
        .gyroscopeRange = (float) gyr_range,
        .accelerationRejection = (float) acc_rej,
        .magneticRejection = (float) mag_rej,
        .rejectionTimeout = (float) timeout_s,
    };
    FusionAhrsInitialise(&self->ahrs);
    FusionAhrsSetSettings(&self->ahrs, &settings);
    self->rate_hz = rate_hz;
    self->unit_period = (float) (1.0 / rate_hz);
    FusionAhrsSetSamplePeriod(&self->ahrs, self->unit_period);
    const FusionBiasSettings bias_settings = {
        .sampleRate = (float) rate_hz,
        .stationaryThreshold = (float) bias_threshold,
        .stationaryPeriod = (float) bias_period,
    };
    FusionBiasInitialise(&self->bias);
    FusionBiasSetSettings(&self->bias, &bias_settings);
    self->busy = 0;
    return 0;
}

static PyObject *cfusion_run(CFusion *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"gyr_dps", "acc", "acc_scale", "mag_ut", "periods", "out",
                             "start", "stop", NULL};
    PyObject *gyr_obj, *acc_obj, *mag_obj, *periods_obj, *out_obj;
    double acc_scale;
    Py_ssize_t start, stop;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOdOOOnn", kwlist, &gyr_obj, &acc_obj,
                                     &acc_scale, &mag_obj, &periods_obj, &out_obj, &start,
                                     &stop)) {
        return NULL;
    }
    Buf gyr = {0}, acc = {0}, mag = {0}, periods = {0}, out = {0};
    PyObject *result = NULL;
    if (get_array(gyr_obj, &gyr, "gyr_dps", 3, 0) != 0 ||
        get_array(acc_obj, &acc, "acc", 3, 0) != 0 ||
        (mag_obj != Py_None && get_array(mag_obj, &mag, "mag_ut", 3, 0) != 0) ||
        (periods_obj != Py_None && get_array(periods_obj, &periods, "periods", 0, 0) != 0) ||
        get_array(out_obj, &out, "out", 4, 1) != 0) {
        goto done;
    }
    const Py_ssize_t n = gyr.view.shape[0];
    if (acc.view.shape[0] != n || out.view.shape[0] != n ||
        (mag.held && mag.view.shape[0] != n) || (periods.held && periods.view.shape[0] != n)) {
        PyErr_SetString(PyExc_ValueError,
                        "gyr_dps, acc, mag_ut, periods and out must have the same length");
        goto done;
    }
    if (start < 0 || stop > n || start > stop) {
        PyErr_Format(PyExc_ValueError, "start/stop (%zd, %zd) outside 0..%zd", start, stop, n);
        goto done;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "this fusion object is running in another thread");
        goto done;
    }
    self->busy = 1;
    const double rate = self->rate_hz;
    const float unit = self->unit_period;
    const int use_mag = mag.held;
    const int has_periods = periods.held;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = start; i < stop; i++) {
        FusionVector g = {.axis = {(float) AT(gyr, i, 0), (float) AT(gyr, i, 1), (float) AT(gyr, i, 2)}};
        FusionVector a = {.axis = {(float) (AT(acc, i, 0) / acc_scale),
                                   (float) (AT(acc, i, 1) / acc_scale),
                                   (float) (AT(acc, i, 2) / acc_scale)}};
        g = FusionBiasUpdate(&self->bias, g);
        int64_t p = 1;
        if (has_periods) {
            p = *(const int64_t *) ((const char *) periods.view.buf + i * periods.view.strides[0]);
        }
        if (p != 1) {
            FusionAhrsSetSamplePeriod(&self->ahrs, (float) ((double) p / rate));
        }
        if (use_mag) {
            FusionVector m = {.axis = {(float) AT(mag, i, 0), (float) AT(mag, i, 1), (float) AT(mag, i, 2)}};
            FusionAhrsUpdate(&self->ahrs, g, a, m);
        } else {
            FusionAhrsUpdateNoMagnetometer(&self->ahrs, g, a);
        }
        if (p != 1) {
            FusionAhrsSetSamplePeriod(&self->ahrs, unit);
        }
        const FusionQuaternion q = FusionAhrsGetQuaternion(&self->ahrs);
        char *row = (char *) out.view.buf + i * out.view.strides[0];
        for (int j = 0; j < 4; j++) {
            *(double *) (row + j * out.view.strides[1]) = (double) q.array[j];
        }
    }
    Py_END_ALLOW_THREADS
    self->busy = 0;
    result = Py_NewRef(Py_None);
done:
    buf_release(&gyr);
    buf_release(&acc);
    buf_release(&mag);
    buf_release(&periods);
    buf_release(&out);
    return result;
}

static PyObject *cfusion_get_quaternion(CFusion *self, PyObject *Py_UNUSED(ignored)) {
    const FusionQuaternion q = FusionAhrsGetQuaternion(&self->ahrs);
    return Py_BuildValue("(dddd)", (double) q.array[0], (double) q.array[1],
                         (double) q.array[2], (double) q.array[3]);
}

static PyObject *cfusion_set_quaternion(CFusion *self, PyObject *args) {
    double w, x, y, z;
    if (!PyArg_ParseTuple(args, "dddd", &w, &x, &y, &z)) {
        return NULL;
    }
    const FusionQuaternion q = {.array = {(float) w, (float) x, (float) y, (float) z}};
    FusionAhrsSetQuaternion(&self->ahrs, q);
    Py_RETURN_NONE;
}

static PyObject *cfusion_restart(CFusion *self, PyObject *Py_UNUSED(ignored)) {
    FusionAhrsRestart(&self->ahrs);
    Py_RETURN_NONE;
}

static PyObject *cfusion_skip_startup(CFusion *self, PyObject *Py_UNUSED(ignored)) {
    FusionAhrsSkipStartup(&self->ahrs);
    Py_RETURN_NONE;
}

static PyObject *cfusion_set_bias_offset(CFusion *self, PyObject *args) {
    double x, y, z;
    if (!PyArg_ParseTuple(args, "ddd", &x, &y, &z)) {
        return NULL;
    }
    const FusionVector offset = {.axis = {(float) x, (float) y, (float) z}};
    FusionBiasSetOffset(&self->bias, offset);
    Py_RETURN_NONE;
}

static PyObject *cfusion_get_bias_offset(CFusion *self, PyObject *Py_UNUSED(ignored)) {
    const FusionVector v = FusionBiasGetOffset(&self->bias);
    return Py_BuildValue("(ddd)", (double) v.axis.x, (double) v.axis.y, (double) v.axis.z);
}

static PyObject *cfusion_flags(CFusion *self, PyObject *Py_UNUSED(ignored)) {
    const FusionAhrsFlags f = FusionAhrsGetFlags(&self->ahrs);
    return Py_BuildValue("(NNNN)", PyBool_FromLong(f.startup),
                         PyBool_FromLong(f.overrangeRecovery),
                         PyBool_FromLong(f.accelerationRecovery),
                         PyBool_FromLong(f.magneticRecovery));
}

static PyObject *cfusion_internal_states(CFusion *self, PyObject *Py_UNUSED(ignored)) {
    const FusionAhrsInternalStates s = FusionAhrsGetInternalStates(&self->ahrs);
    return Py_BuildValue("(dNddNd)", (double) s.accelerationError,
                         PyBool_FromLong(s.accelerometerIgnored),
                         (double) s.accelerationRecoveryTrigger, (double) s.magneticError,
                         PyBool_FromLong(s.magnetometerIgnored),
                         (double) s.magneticRecoveryTrigger);
}

static PyMethodDef cfusion_methods[] = {
    {"run", (PyCFunction) (void (*)(void)) cfusion_run, METH_VARARGS | METH_KEYWORDS,
     "run(gyr_dps, acc, acc_scale, mag_ut, periods, out, start, stop): fuse samples "
     "start..stop-1 and write their (w, x, y, z) quaternions into out."},
    {"get_quaternion", (PyCFunction) cfusion_get_quaternion, METH_NOARGS, "(w, x, y, z)"},
    {"set_quaternion", (PyCFunction) cfusion_set_quaternion, METH_VARARGS, "set_quaternion(w, x, y, z)"},
    {"restart", (PyCFunction) cfusion_restart, METH_NOARGS, "FusionAhrsRestart"},
    {"skip_startup", (PyCFunction) cfusion_skip_startup, METH_NOARGS, "FusionAhrsSkipStartup"},
    {"set_bias_offset", (PyCFunction) cfusion_set_bias_offset, METH_VARARGS, "set_bias_offset(x, y, z) deg/s"},
    {"get_bias_offset", (PyCFunction) cfusion_get_bias_offset, METH_NOARGS, "(x, y, z) deg/s"},
    {"flags", (PyCFunction) cfusion_flags, METH_NOARGS,
     "(startup, overrange_recovery, acceleration_recovery, magnetic_recovery)"},
    {"internal_states", (PyCFunction) cfusion_internal_states, METH_NOARGS,
     "(acceleration_error, accelerometer_ignored, acceleration_recovery_trigger, "
     "magnetic_error, magnetometer_ignored, magnetic_recovery_trigger)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CFusionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "spinecoach.motion._cfusion.Fusion",
    .tp_doc = "x-io Fusion AHRS (NWU) with its gyroscope-bias estimator.",
    .tp_basicsize = sizeof(CFusion),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc) cfusion_init,
    .tp_methods = cfusion_methods,
};

static struct PyModuleDef cfusion_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "spinecoach.motion._cfusion",
    .m_doc = "x-io Fusion in a compiled loop (see spinecoach.motion.fusion).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__cfusion(void) {
    if (PyType_Ready(&CFusionType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&cfusion_module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Fusion", (PyObject *) &CFusionType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddStringConstant(m, "FUSION_SOURCE", "imufusion 1.3.3 sdist") < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
