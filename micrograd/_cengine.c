/* micrograd/_cengine.c: the scalar engine of micrograd/engine.py, compiled.
 *
 * micrograd/engine.py is the specification: this file implements the same `Value` and `dot`,
 * op by op under the same names (`__add__`, `__mul__`, ..., `_backward`, `backward`,
 * `_topological_order`, `dot`), and must give the same results bit for bit: the same floats
 * (signed zeros included), the same int-or-float result types, the same reprs, the same error
 * types and messages (NaN sign and payload bits excepted: see engine.py's docstring). Every float
 * op is the C operation CPython's float type does, or the same C library call (pow included: see
 * float_square). Read engine.py to learn what an op computes; read this file only to see how the
 * compiled engine stores it. Rare paths (pow's checks, error messages, argument errors)
 * call engine.py's own helper functions, so they cannot drift apart.
 *
 * Storage. A node keeps `data`, `grad` and the local derivatives `_da`, `_db` each as a C double
 * when the number is a Python float (the fast path: float arithmetic is done in C doubles, which
 * is what Python's float type does) or as a Python object otherwise (ints, bools, numpy
 * scalars: their arithmetic goes through PyNumber_*, exactly as engine.py's Python code would).
 * `_a` and `_b` are the inputs as in engine.py: `_b` may hold a plain-number constant.
 *
 * The garbage collector. Values that only point at their inputs cannot form a reference cycle
 * (the inputs exist before the node), so nodes are born untracked by the cyclic collector: it
 * never scans them, which is most of the speed. They are kept on an internal list instead. The
 * first time user code stores on any Value something the collector could follow (a closure as
 * `_backward`, a Value or list as an attribute, a new `_prev`, a read of `__dict__`), or makes
 * an instance of a subclass with `__slots__` of its own (stored into by descriptors that bypass
 * every check here), every live Value becomes tracked and every later one is tracked from
 * birth: one way, for the process.
 * Numbers stored as attributes (`p.m = 0.0`) keep the fast path.
 *
 * User code. Any call into Python (a number's operator, a grad's truth test, engine.py's
 * helpers) and, on Python <= 3.11, any allocation of a collected object (the collector runs
 * finalizers there) can change any Value, even replace a node's inputs and free them. So a
 * field read before such a call is owned (INCREF) or read again after it, a list argument is
 * copied after the copy's allocation, and recursion through objects' arithmetic is counted
 * (Py_EnterRecursiveCall). tests/test_cengine_hostile.py runs such programs.
 *
 * Build with -ffp-contract=off: a fused multiply-add would change the floats.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h> /* T_OBJECT_EX, READONLY: the members a subclass's __slots__ make */
#include <math.h>
#include <stddef.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Numbers
 */

/* A number being computed with: the float `f` when `o` is NULL, else the object `o`.
 * A Num held by a C variable owns its object (release with num_release). */
typedef struct {
    PyObject *o;
    double f;
} Num;

static inline Num num_float(double f) { Num n = {NULL, f}; return n; }

static inline void num_release(Num n) { Py_XDECREF(n.o); }

/* A new reference to the number as a Python object. */
static inline PyObject *num_box(Num n)
{
    if (n.o) {
        Py_INCREF(n.o);
        return n.o;
    }
    return PyFloat_FromDouble(n.f);
}

/* ---------------------------------------------------------------------------------------------
 * The node
 */

enum { DATA = 0, GRAD = 1, DA = 2, DB = 3 };

#define IS_OBJ(slot) (1u << (slot)) /* the slot holds an object (owned; NULL = None) */
#define VISITED 0x10u               /* set during a topological walk */
#define LISTED 0x20u                /* on the list of untracked live Values */
/* Fields that engine.py's __init__ sets and that are not set yet: an instance of a Python
 * subclass whose __init__ does not call Value.__init__ has them unset, and reading one raises
 * the AttributeError engine.py's empty slot raises. */
#define UNSET_DATA 0x40u
#define UNSET_GRAD 0x80u
#define UNSET_OP 0x100u
#define UNSET_LINKS 0x200u /* _a, _b, _da, _db: set together */
#define UNSET_ANY (UNSET_DATA | UNSET_GRAD | UNSET_OP | UNSET_LINKS)

typedef union {
    double f;
    PyObject *o;
} Slot;

typedef struct ValueObject {
    PyObject_HEAD
    Slot num[4];                  /* data, grad, _da, _db */
    PyObject *a;                  /* _a: NULL (a leaf), a Value, or a tuple of Values */
    PyObject *b;                  /* _b: NULL, a Value, or a plain-number constant */
    PyObject *op;                 /* _op (NULL only after the collector cleared the node) */
    PyObject *dict;               /* label, a user's _backward, any attribute of the user's */
    struct ValueObject *prev, *next; /* neighbours on the list of untracked Values */
    unsigned int flags;
} ValueObject;

/* The type. It is made at import by PyType_FromSpec (a heap type, as a Python class is) so that
 * the interpreter's own messages name it 'Value' as they name engine.py's class ("unsupported
 * operand type(s) for @: 'Value' and 'int'"): they print a type's tp_name, which for a static type
 * must be the dotted "micrograd.engine.Value" that __module__ is read from. */
static PyTypeObject *ValueTypeRef;
#define ValueType (*ValueTypeRef)

#define Value_Check(o) PyObject_TypeCheck((o), &ValueType)

/* The number in a slot, borrowed (no reference taken). A derivative slot holding None (NULL)
 * gives the None object, so that arithmetic with it raises engine.py's TypeError. */
static inline Num slot_get(ValueObject *v, int s)
{
    Num n;
    if (v->flags & IS_OBJ(s)) {
        n.o = v->num[s].o ? v->num[s].o : Py_None;
        n.f = 0.0;
    }
    else {
        n.o = NULL;
        n.f = v->num[s].f;
    }
    return n;
}

/* The number in a slot, with a reference of its own. */
static inline Num slot_copy(ValueObject *v, int s)
{
    Num n = slot_get(v, s);
    Py_XINCREF(n.o);
    return n;
}

/* Store `n` (stolen) in a slot; the previous object is released last, since releasing it can
 * run arbitrary code. */
static inline void slot_set(ValueObject *v, int s, Num n)
{
    PyObject *old = (v->flags & IS_OBJ(s)) ? v->num[s].o : NULL;
    if (n.o) {
        v->num[s].o = n.o;
        v->flags |= IS_OBJ(s);
    }
    else {
        v->num[s].f = n.f;
        v->flags &= ~IS_OBJ(s);
    }
    Py_XDECREF(old);
}

/* A derivative slot set to None (engine.py's `_da = None`). */
static inline void slot_set_none(ValueObject *v, int s)
{
    PyObject *old = (v->flags & IS_OBJ(s)) ? v->num[s].o : NULL;
    v->num[s].o = NULL;
    v->flags |= IS_OBJ(s);
    Py_XDECREF(old);
}

static inline int slot_is_none(ValueObject *v, int s)
{
    return (v->flags & IS_OBJ(s)) && v->num[s].o == NULL;
}

/* engine.py's AttributeError for an empty slot, worded as the interpreter words it (the type's
 * fully qualified name from Python 3.13 on). -1. */
static int unset_error(ValueObject *v, const char *name)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyErr_Format(PyExc_AttributeError, "'%T' object has no attribute '%s'", (PyObject *)v, name);
#else
    PyErr_Format(PyExc_AttributeError, "'%.200s' object has no attribute '%s'", Py_TYPE(v)->tp_name,
                 name);
#endif
    return -1;
}

/* engine.py's `data` property's AttributeError when the slot behind it was never set: it names
 * the class by its __name__ on every version. -1. */
static int unset_data_error(ValueObject *v)
{
    PyErr_Format(PyExc_AttributeError, "'%.200s' object has no attribute 'data'",
                 Py_TYPE(v)->tp_name); /* (a Python class's tp_name is its __name__) */
    return -1;
}

/* 0 if the field (UNSET_DATA, ...) of `v` is set, else -1 with engine.py's AttributeError. */
static inline int need(ValueObject *v, unsigned int field)
{
    if (!(v->flags & field))
        return 0;
    return unset_error(v, field == UNSET_DATA   ? "_data" /* engine.py's slot behind `data` */
                          : field == UNSET_GRAD ? "grad"
                          : field == UNSET_OP   ? "_op"
                                                : "_a");
}

/* ---------------------------------------------------------------------------------------------
 * Module state: constants, engine.py's helpers, the collector mode
 */

static PyObject *ZERO, *ONE, *MINUS_ONE, *TWO; /* the ints 0, 1, -1, 2 */
static PyObject *EMPTY;                        /* '' */
static PyObject *OP_ADD, *OP_MUL, *OP_POW, *OP_RELU, *OP_TANH, *OP_SIGMOID, *OP_EXP, *OP_LOG,
    *OP_DOT, *OP_POW_MINUS_ONE, *OP_POW_TWO;
static PyObject *NAME_ADD, *NAME_MUL, *NAME_TANH, *NAME_SIGMOID, *NAME_EXP, *NAME_DOT; /* in errors */
static PyObject *STR_RPOW, *STR_BACKWARD, *STR_DATA, *STR_GRAD, *STR_OP, *STR_A, *STR_B, *STR_DA, *STR_DB;
static PyObject *NUMBERS_REAL;  /* numbers.Real */
static PyObject *MATH_LOG;      /* math.log */
static PyObject *BACKWARD_DESCR; /* Value._backward as found on the type */

/* engine.py's helpers, fetched the first time one is needed (engine.py imports this module). */
static PyObject *H_check_number, *H_check_data, *H_value_as_data, *H_check_power, *H_power,
    *H_power_both, *H_too_large, *H_constructor_arguments, *H_dot_arguments, *H_rpow_arguments;

static int load_helpers(void)
{
    if (H_check_number)
        return 0;
    PyObject *engine = PyImport_ImportModule("micrograd.engine");
    if (!engine)
        return -1;
    struct {
        PyObject **slot;
        const char *name;
    } wanted[] = {
        {&H_check_data, "_check_data"},
        {&H_value_as_data, "_value_as_data"},
        {&H_check_power, "_check_power"},
        {&H_power, "_power"},
        {&H_power_both, "_power_both"},
        {&H_too_large, "_too_large"},
        {&H_constructor_arguments, "_constructor_arguments"},
        {&H_dot_arguments, "_dot_arguments"},
        {&H_rpow_arguments, "_rpow_arguments"},
        {&H_check_number, "_check_number"}, /* last: it marks the whole set as loaded */
    };
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        PyObject *f = PyObject_GetAttrString(engine, wanted[i].name);
        if (!f) {
            Py_DECREF(engine);
            return -1;
        }
        *wanted[i].slot = f;
    }
    Py_DECREF(engine);
    return 0;
}

/* Call one of engine.py's helpers. */
static PyObject *helper(PyObject **h, PyObject *const *args, Py_ssize_t n)
{
    if (load_helpers() < 0)
        return NULL;
    return PyObject_Vectorcall(*h, args, n, NULL);
}

static Py_ssize_t live_values = 0;   /* Values alive now: read by the tests (live_values()) */
static int tracking = 0;             /* 0: Values are born untracked; 1: all tracked, for good */
static ValueObject *listed = NULL;   /* the untracked live Values */

/* The one-way switch to tracked mode (see the header). */
static void start_tracking(void)
{
    if (tracking)
        return;
    tracking = 1;
    ValueObject *v = listed;
    listed = NULL;
    while (v) {
        ValueObject *next = v->next;
        v->prev = v->next = NULL;
        v->flags &= ~LISTED;
        PyObject_GC_Track((PyObject *)v);
        v = next;
    }
}

/* Switch to tracked mode if `o` is something the collector could follow. */
static inline void watch(PyObject *o)
{
    if (!tracking && o && PyObject_IS_GC(o))
        start_tracking();
}

/* A new, fully initialised node starts its life: untracked and listed, or tracked. */
static inline void born(ValueObject *v)
{
    live_values++;
    if (PyObject_GC_IsTracked((PyObject *)v))
        return; /* an instance of a Python subclass: tracked from its allocation */
    if (tracking) {
        PyObject_GC_Track((PyObject *)v);
        return;
    }
    v->prev = NULL;
    v->next = listed;
    if (listed)
        listed->prev = v;
    listed = v;
    v->flags |= LISTED;
}

static inline void unlist(ValueObject *v)
{
    if (!(v->flags & LISTED))
        return;
    if (v->prev)
        v->prev->next = v->next;
    else
        listed = v->next;
    if (v->next)
        v->next->prev = v->prev;
    v->prev = v->next = NULL;
    v->flags &= ~LISTED;
}

/* ---------------------------------------------------------------------------------------------
 * Numbers entering the engine: engine.py's _check_number and _from_numpy
 */

/* Is `o` an exact numpy scalar of this type name ("numpy.float64")? Compared by name: numpy is
 * not imported, as in engine.py. */
static inline int is_numpy(PyObject *o, const char *name)
{
    /* numpy's scalar types are static types, whose tp_name is "module.name" */
    return !(Py_TYPE(o)->tp_flags & Py_TPFLAGS_HEAPTYPE) && strcmp(Py_TYPE(o)->tp_name, name) == 0;
}

/* A Python object made a Num: a Python float becomes a double. Steals `o`. */
static inline Num num_from_object(PyObject *o)
{
    Num n;
    if (PyFloat_CheckExact(o)) {
        n.o = NULL;
        n.f = PyFloat_AS_DOUBLE(o);
        Py_DECREF(o);
        return n;
    }
    watch(o); /* a number of a Python class could be given attributes pointing at the graph */
    n.o = o;
    n.f = 0.0;
    return n;
}

/* Raise engine.py's TypeError for a Value given as data (`p.data = p - lr * p.grad`). This
 * engine's Values are recognised here, even when engine.py is the pure one (MICROGRAD_PURE=1). */
static int refuse_value_as_data(PyObject *x)
{
    PyObject *e = helper(&H_value_as_data, &x, 1);
    if (e) {
        PyErr_SetObject((PyObject *)Py_TYPE(e), e);
        Py_DECREF(e);
    }
    return -1;
}

/* engine.py's _check_number: the number a Value keeps for `x` (a new reference), or NULL with
 * the TypeError naming its type. */
static PyObject *check_number(PyObject *x)
{
    if (PyFloat_CheckExact(x) || PyLong_CheckExact(x) || PyBool_Check(x)) {
        Py_INCREF(x);
        return x;
    }
    if (is_numpy(x, "numpy.float64"))
        return PyFloat_FromDouble(PyFloat_AsDouble(x));
    if (is_numpy(x, "numpy.int64"))
        return PyNumber_Index(x);
    if (Value_Check(x)) {
        refuse_value_as_data(x);
        return NULL;
    }
    PyObject *r = helper(&H_check_number, &x, 1);
    if (r)
        watch(r);
    return r;
}

/* engine.py's _from_numpy. */
static PyObject *from_numpy(PyObject *x)
{
    if (is_numpy(x, "numpy.float64"))
        return PyFloat_FromDouble(PyFloat_AsDouble(x));
    if (is_numpy(x, "numpy.int64"))
        return PyNumber_Index(x);
    Py_INCREF(x);
    return x;
}

/* ---------------------------------------------------------------------------------------------
 * Arithmetic as Python does it
 */

/* x + y, x * y, and x += y (engine.py's gradient accumulation `child.grad += d * g`: the same as
 * + for Python's numbers, but an in-place type such as a numpy array grad is updated in place,
 * and an error names the operator `+=`). */
enum { ADD, MUL, IADD };

/* Both numbers as doubles when Python would compute in doubles: two floats, or a float and an
 * int or bool (Python converts the int with PyLong_AsDouble, then does the same C operation).
 * Returns 1 if so, 0 if the generic path is needed, -1 on error (an int too large). */
static inline int as_doubles(Num x, Num y, double *a, double *b)
{
    if (!x.o) {
        *a = x.f;
        if (!y.o) {
            *b = y.f;
            return 1;
        }
        if (PyLong_CheckExact(y.o) || PyBool_Check(y.o)) {
            *b = PyLong_AsDouble(y.o);
            return (*b == -1.0 && PyErr_Occurred()) ? -1 : 1;
        }
        return 0;
    }
    if (!y.o && (PyLong_CheckExact(x.o) || PyBool_Check(x.o))) {
        *b = y.f;
        *a = PyLong_AsDouble(x.o);
        return (*a == -1.0 && PyErr_Occurred()) ? -1 : 1;
    }
    return 0;
}

/* *out = x + y, x * y or x += y, as Python computes it. 0, or -1 with an exception set. */
static int num_binop(int op, Num x, Num y, Num *out)
{
    double a, b;
    int fast = as_doubles(x, y, &a, &b);
    if (fast < 0)
        return -1;
    if (fast) {
        *out = num_float(op == MUL ? a * b : a + b);
        return 0;
    }
    /* Objects' own arithmetic can come back here without a Python frame in between (a number
     * type whose operator returns a Value makes a Value whose data is a Value): count the depth
     * as Python does, so that it ends in a RecursionError instead of a C stack overflow. */
    if (Py_EnterRecursiveCall(" in a Value's arithmetic"))
        return -1;
    PyObject *bx = num_box(x), *by = NULL, *r = NULL;
    if (bx && (by = num_box(y)))
        r = op == ADD   ? PyNumber_Add(bx, by)
            : op == MUL ? PyNumber_Multiply(bx, by)
                        : PyNumber_InPlaceAdd(bx, by);
    Py_LeaveRecursiveCall();
    Py_XDECREF(bx);
    Py_XDECREF(by);
    if (!r)
        return -1;
    *out = num_from_object(r);
    return 0;
}

/* Replace a pending OverflowError by engine.py's _too_large(op, x, y...) ValueError. */
static void too_large(PyObject *op, Num *operands, int n)
{
    if (!PyErr_ExceptionMatches(PyExc_OverflowError))
        return;
    PyErr_Clear();
    PyObject *args[4] = {op};
    int boxed = 1;
    for (int i = 0; i < n; i++) {
        if (!(args[boxed] = num_box(operands[i])))
            goto done;
        boxed++;
    }
    PyObject *e = helper(&H_too_large, args, boxed);
    if (e) {
        PyErr_SetObject((PyObject *)Py_TYPE(e), e);
        Py_DECREF(e);
    }
done:
    for (int i = 1; i < boxed; i++)
        Py_DECREF(args[i]);
}

/* Compare a number with 0 as Python does (`x < 0`, `x > 0`, `x >= 0`): 1, 0, or -1. */
static int compare_zero(Num x, int how)
{
    if (!x.o) {
        switch (how) {
        case Py_LT: return x.f < 0;
        case Py_GT: return x.f > 0;
        default: return x.f >= 0;
        }
    }
    return PyObject_RichCompareBool(x.o, ZERO, how);
}

/* float(x), or the ValueError naming `op` for an int too large for a float. */
static int as_float(Num x, PyObject *op, double *out)
{
    if (!x.o) {
        *out = x.f;
        return 0;
    }
    PyObject *f = PyNumber_Float(x.o);
    if (!f) {
        too_large(op, &x, 1);
        return -1;
    }
    *out = PyFloat_AS_DOUBLE(f);
    Py_DECREF(f);
    return 0;
}

/* The exponent 2.0, read through a volatile so that the compiler cannot see it: it turns
 * pow(m, 2.0) into m * m, which differs from the C library's pow in the last bit for some m
 * (0.06% of tanh's outputs), and Python's `t ** 2` calls the C library's pow. */
static volatile double POW_TWO = 2.0;

/* t ** 2 for a float t, as Python's float_pow computes it: the special cases it takes before
 * calling C's pow (for the values tanh can return: |t| <= 1, so no overflow), then pow itself. */
static inline double float_square(double t)
{
    if (isnan(t))
        return t;
    if (t == 0.0)
        return 0.0;
    double m = fabs(t);
    if (m == 1.0)
        return 1.0;
    if (isinf(m))
        return m;
    return pow(m, POW_TWO);
}

/* ---------------------------------------------------------------------------------------------
 * Making nodes: engine.py's _node
 */

static inline Num num_object(PyObject *o) /* borrowed object -> owned Num */
{
    Py_INCREF(o);
    Num n = {o, 0.0};
    return n;
}



/* An op's output node, or a leaf when `a` is NULL. Steals `data`, `da`, `db` and the references
 * to `a` and `b` (each may be NULL: then its derivative is None and `da`/`db` is released);
 * `op` is borrowed. */
static PyObject *node(Num data, PyObject *op, PyObject *a, Num da, PyObject *b, Num db)
{
    ValueObject *v = PyObject_GC_New(ValueObject, &ValueType);
    if (!v) {
        num_release(data);
        num_release(da);
        num_release(db);
        Py_XDECREF(a);
        Py_XDECREF(b);
        return NULL;
    }
    v->flags = IS_OBJ(GRAD) | IS_OBJ(DA) | IS_OBJ(DB);
    v->dict = NULL;
    v->prev = v->next = NULL;
    v->num[GRAD].o = ZERO; /* grad starts at the int 0, as in the original */
    Py_INCREF(ZERO);
    v->num[DA].o = v->num[DB].o = NULL;
    if (data.o)
        v->flags |= IS_OBJ(DATA);
    v->num[DATA] = data.o ? (Slot){.o = data.o} : (Slot){.f = data.f};
    if (a)
        slot_set(v, DA, da);
    else
        num_release(da);
    if (b)
        slot_set(v, DB, db);
    else
        num_release(db);
    v->a = a;
    v->b = b;
    Py_INCREF(op);
    v->op = op;
    born(v);
    return (PyObject *)v;
}

static const Num NONE = {NULL, 0.0}; /* an unused derivative (with a NULL input) */

/* A leaf holding the number `x` (already checked). Steals x. */
static inline PyObject *leaf(Num x) { return node(x, EMPTY, NULL, NONE, NULL, NONE); }

/* engine.py's _as_value: a Value for a Value or a number (a new reference). */
static PyObject *as_value(PyObject *x)
{
    if (Value_Check(x)) {
        Py_INCREF(x);
        return x;
    }
    PyObject *n = check_number(x);
    return n ? leaf(num_from_object(n)) : NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Operations: each returns a new node with its local derivatives (engine.py, in the same order)
 */

/* The other operand of + and *: the input kept in `_b` (a Value or a checked constant) and its
 * number. 0, or -1 with the TypeError of _check_number. */
static int operand(PyObject *other, PyObject **b, Num *y)
{
    if (Value_Check(other)) {
        if (need((ValueObject *)other, UNSET_DATA) < 0)
            return -1;
        Py_INCREF(other);
        *b = other;
        *y = slot_copy((ValueObject *)other, DATA);
        return 0;
    }
    if (!(*b = check_number(other))) /* a constant: see engine.py's "Storage layout" */
        return -1;
    Py_INCREF(*b);
    *y = num_from_object(*b);
    return 0;
}

static PyObject *Value_add(ValueObject *self, PyObject *other)
{
    PyObject *b;
    Num y, out;
    if (operand(other, &b, &y) < 0)
        return NULL;
    if (need(self, UNSET_DATA) < 0) {
        num_release(y);
        Py_DECREF(b);
        return NULL;
    }
    Num x = slot_copy(self, DATA);
    if (num_binop(ADD, x, y, &out) < 0) { /* an int too large for a float, added to a float */
        Num xy[2] = {x, y};
        too_large(NAME_ADD, xy, 2);
        num_release(x);
        num_release(y);
        Py_DECREF(b);
        return NULL;
    }
    num_release(x);
    num_release(y);
    Py_INCREF(self);
    /* d(a+b)/da = 1, d(a+b)/db = 1 */
    return node(out, OP_ADD, (PyObject *)self, num_object(ONE), b, num_object(ONE));
}

static PyObject *Value_mul(ValueObject *self, PyObject *other)
{
    PyObject *b;
    Num y, out;
    if (operand(other, &b, &y) < 0)
        return NULL;
    if (need(self, UNSET_DATA) < 0) {
        num_release(y);
        Py_DECREF(b);
        return NULL;
    }
    Num x = slot_copy(self, DATA);
    if (num_binop(MUL, x, y, &out) < 0) {
        Num xy[2] = {x, y};
        too_large(NAME_MUL, xy, 2);
        num_release(x);
        num_release(y);
        Py_DECREF(b);
        return NULL;
    }
    num_release(x);
    Py_INCREF(self);
    /* d(a*b)/da = b, d(a*b)/db = a */
    return node(out, OP_MUL, (PyObject *)self, y, b, slot_copy(self, DATA));
}

/* The name of a type as type(x).__name__ gives it (a new reference). */
static inline PyObject *type_name(PyObject *x)
{
    return PyObject_GetAttrString((PyObject *)Py_TYPE(x), "__name__");
}

/* x ** k for a number k (engine.py's __pow__ after its type check). */
static PyObject *pow_number(ValueObject *self, PyObject *k)
{
    PyObject *text = NULL, *op = NULL, *x = NULL, *r = NULL;
    Num out = NONE, d = NONE;
    int done = 0;
    if (need(self, UNSET_DATA) < 0)
        return NULL;
    if (PyLong_CheckExact(k) && (PyObject_RichCompareBool(k, MINUS_ONE, Py_EQ) == 1)) {
        op = OP_POW_MINUS_ONE; /* division's x ** -1: the most frequent power, named once */
        Py_INCREF(op);
    }
    else if (PyLong_CheckExact(k) && (PyObject_RichCompareBool(k, TWO, Py_EQ) == 1)) {
        op = OP_POW_TWO;
        Py_INCREF(op);
    }
    else {
        if (!(text = PyObject_Format(k, EMPTY)) || !(op = PyUnicode_FromFormat("**%U", text)))
            goto error;
    }
    /* The fast path: a float base and an int or float exponent whose power Python computes
     * without an error; everything else (and every error) goes through engine.py's helpers. */
    if (!(self->flags & IS_OBJ(DATA)) && (PyFloat_CheckExact(k) || PyLong_CheckExact(k))) {
        double xv = self->num[DATA].f, kv;
        int ok = 1;
        if (PyFloat_CheckExact(k))
            kv = PyFloat_AS_DOUBLE(k);
        else {
            int overflow;
            long kl = PyLong_AsLongAndOverflow(k, &overflow);
            ok = !overflow && kl < (1L << 53) && kl > -(1L << 53);
            kv = (double)kl;
        }
        /* engine.py's _check_power refuses these: let it raise its own errors */
        if (ok && ((xv < 0 && (!isfinite(kv) || kv != floor(kv))) || (xv == 0 && kv < 0)))
            ok = 0;
        if (ok && !(x = PyFloat_FromDouble(xv)))
            goto error;
        if (ok) {
            PyObject *p = PyNumber_Power(x, k, Py_None);
            if (p) {
                out = num_from_object(p);
                /* d(x**k)/dx = k * x**(k-1), with its limits at x == 0 (engine.py's
                 * _power_derivative) */
                if (xv == 0 && kv < 1) {
                    d = num_float(kv == 0 ? 0.0 : Py_HUGE_VAL);
                    done = 1;
                }
                else {
                    PyObject *km1 = PyNumber_Subtract(k, ONE), *q = NULL, *dk = NULL;
                    if (km1 && (q = PyNumber_Power(x, km1, Py_None)) &&
                        (dk = PyNumber_Multiply(k, q))) {
                        d = num_from_object(dk);
                        done = 1;
                    }
                    Py_XDECREF(km1);
                    Py_XDECREF(q);
                }
                if (!done) {
                    num_release(out);
                    out = NONE;
                }
            }
            if (!done)
                PyErr_Clear(); /* the helpers below raise engine.py's error for it */
        }
    }
    if (!done) {
        if (!x && !(x = num_box(slot_get(self, DATA))))
            goto error;
        if (!text && !(text = PyObject_Format(k, EMPTY)))
            goto error;
        PyObject *what = PyUnicode_FromFormat("Value ** %U", text);
        if (!what)
            goto error;
        PyObject *args[3] = {x, k, what};
        PyObject *c = helper(&H_check_power, args, 3);
        if (!c) {
            Py_DECREF(what);
            goto error;
        }
        Py_DECREF(c);
        PyObject *pair = helper(&H_power, args, 3);
        Py_DECREF(what);
        if (!pair)
            goto error;
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            Py_DECREF(pair);
            PyErr_SetString(PyExc_SystemError, "_power returned a bad result");
            goto error;
        }
        out = num_object(PyTuple_GET_ITEM(pair, 0));
        d = num_object(PyTuple_GET_ITEM(pair, 1));
        Py_DECREF(pair);
        out = num_from_object(out.o);
        d = num_from_object(d.o);
    }
    Py_INCREF(self);
    r = node(out, op, (PyObject *)self, d, NULL, NONE);
    Py_XDECREF(text);
    Py_DECREF(op);
    Py_XDECREF(x);
    return r;
error:
    Py_XDECREF(text);
    Py_XDECREF(op);
    Py_XDECREF(x);
    return NULL;
}

/* x ** y where the exponent is a Value too: the gradient flows into both. */
static PyObject *Value__pow_value(ValueObject *self, ValueObject *exponent)
{
    if (need(self, UNSET_DATA) < 0 || need(exponent, UNSET_DATA) < 0)
        return NULL;
    PyObject *args[2] = {num_box(slot_get(self, DATA)), num_box(slot_get(exponent, DATA))};
    PyObject *r = NULL;
    if (args[0] && args[1])
        r = helper(&H_power_both, args, 2);
    Py_XDECREF(args[0]);
    Py_XDECREF(args[1]);
    if (!r)
        return NULL;
    if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) != 3) {
        Py_DECREF(r);
        PyErr_SetString(PyExc_SystemError, "_power_both returned a bad result");
        return NULL;
    }
    Num out = num_object(PyTuple_GET_ITEM(r, 0)), dx = num_object(PyTuple_GET_ITEM(r, 1)),
        dy = num_object(PyTuple_GET_ITEM(r, 2));
    Py_DECREF(r);
    Py_INCREF(self);
    Py_INCREF(exponent);
    return node(num_from_object(out.o), OP_POW, (PyObject *)self, num_from_object(dx.o),
                (PyObject *)exponent, num_from_object(dy.o));
}

static PyObject *Value_pow(ValueObject *self, PyObject *other)
{
    if (Value_Check(other))
        return Value__pow_value(self, (ValueObject *)other);
    if (!PyFloat_CheckExact(other) && !PyLong_CheckExact(other)) {
        int real = PyObject_IsInstance(other, NUMBERS_REAL);
        if (real < 0)
            return NULL;
        if (!real) {
            PyObject *name = type_name(other);
            if (name) {
                PyErr_Format(PyExc_TypeError,
                             "Value ** exponent: the exponent must be an int, float or Value, "
                             "got %U",
                             name);
                Py_DECREF(name);
            }
            return NULL;
        }
    }
    PyObject *k = from_numpy(other);
    if (!k)
        return NULL;
    PyObject *r = pow_number(self, k);
    Py_DECREF(k);
    return r;
}

static PyObject *Value_relu(ValueObject *self, PyObject *unused)
{
    if (need(self, UNSET_DATA) < 0)
        return NULL;
    Num x = slot_copy(self, DATA), out;
    int negative = compare_zero(x, Py_LT);
    if (negative < 0) {
        num_release(x);
        return NULL;
    }
    if (negative) {
        num_release(x);
        out = num_object(ZERO);
    }
    else
        out = x;
    /* d relu(x)/dx = 1 where x > 0, else 0 (0 at x == 0, as in the original and PyTorch) */
    int positive = compare_zero(out, Py_GT);
    if (positive < 0) {
        num_release(out);
        return NULL;
    }
    Py_INCREF(self);
    return node(out, OP_RELU, (PyObject *)self, num_object(positive ? ONE : ZERO), NULL, NONE);
}

static PyObject *Value_tanh(ValueObject *self, PyObject *unused)
{
    if (need(self, UNSET_DATA) < 0)
        return NULL;
    double x, t;
    Num data = slot_copy(self, DATA); /* owned: float() can run code that replaces self.data */
    int e = as_float(data, NAME_TANH, &x);
    num_release(data);
    if (e < 0)
        return NULL;
    if (x > 354.0)
        t = 1.0; /* exp(2x) would overflow (2x > 709.78); tanh(x) rounds to 1.0 long before */
    else {
        /* the lecture's formula (see engine.py) */
        double e = exp(2 * x);
        t = (e - 1) / (e + 1);
    }
    Py_INCREF(self);
    /* d tanh(x)/dx = 1 - tanh(x)**2 */
    return node(num_float(t), OP_TANH, (PyObject *)self, num_float(1 - float_square(t)), NULL,
                NONE);
}

static PyObject *Value_sigmoid(ValueObject *self, PyObject *unused)
{
    if (need(self, UNSET_DATA) < 0)
        return NULL;
    double x, s;
    Num data = slot_copy(self, DATA); /* owned: float() can run code that replaces self.data */
    int e = as_float(data, NAME_SIGMOID, &x);
    num_release(data);
    if (e < 0)
        return NULL;
    /* Two forms so that exp never sees a large positive argument (no overflow). */
    if (x >= 0)
        s = 1.0 / (1.0 + exp(-x));
    else {
        double e = exp(x);
        s = e / (1.0 + e);
    }
    Py_INCREF(self);
    /* d sigmoid(x)/dx = s * (1 - s) */
    return node(num_float(s), OP_SIGMOID, (PyObject *)self, num_float(s * (1.0 - s)), NULL, NONE);
}

static PyObject *Value_exp(ValueObject *self, PyObject *unused)
{
    if (need(self, UNSET_DATA) < 0)
        return NULL;
    Num data = slot_copy(self, DATA); /* owned: float() can run code that replaces self.data */
    double x;
    if (as_float(data, NAME_EXP, &x) < 0) {
        num_release(data);
        return NULL;
    }
    double e = exp(x);
    if (isinf(e) && isfinite(x)) { /* math.exp's OverflowError, named as engine.py names it */
        PyObject *shown = num_box(data), *text = shown ? PyObject_Format(shown, EMPTY) : NULL;
        if (text)
            PyErr_Format(PyExc_ValueError,
                         "exp(%U): the result is too large for a float (x > 709.78)", text);
        Py_XDECREF(shown);
        Py_XDECREF(text);
        num_release(data);
        return NULL;
    }
    num_release(data);
    Py_INCREF(self);
    /* d exp(x)/dx = exp(x) */
    return node(num_float(e), OP_EXP, (PyObject *)self, num_float(e), NULL, NONE);
}

static PyObject *Value_log(ValueObject *self, PyObject *unused)
{
    if (need(self, UNSET_DATA) < 0)
        return NULL;
    Num x = slot_copy(self, DATA), out, d;
    int positive = compare_zero(x, Py_GT);
    if (positive <= 0) {
        if (positive == 0) {
            PyObject *shown = num_box(x), *text = shown ? PyObject_Format(shown, EMPTY) : NULL;
            if (text)
                PyErr_Format(PyExc_ValueError, "log(%U): the logarithm needs a positive number",
                             text);
            Py_XDECREF(shown);
            Py_XDECREF(text);
        }
        num_release(x);
        return NULL;
    }
    if (!x.o) {
        out = num_float(log(x.f)); /* what math.log computes for a positive float */
        d = num_float(1.0 / x.f);
    }
    else {
        PyObject *l = PyObject_CallOneArg(MATH_LOG, x.o), *q = NULL;
        if (!l || !(q = PyNumber_TrueDivide(ONE, x.o))) {
            Py_XDECREF(l);
            num_release(x);
            return NULL;
        }
        out = num_from_object(l);
        d = num_from_object(q);
    }
    num_release(x);
    Py_INCREF(self);
    /* d log(x)/dx = 1/x */
    return node(out, OP_LOG, (PyObject *)self, d, NULL, NONE);
}

/* Everything below is built from the operations above, as in engine.py. When the objects
 * involved are plain Values these call the ops directly; otherwise through Python's operator
 * dispatch, so that a Python subclass's own operators are honoured as engine.py's code would. */

static inline int plain(PyObject *x) { return !Value_Check(x) || Py_TYPE(x) == &ValueType; }

static PyObject *v_add(PyObject *self, PyObject *other) /* self + other */
{
    if (Py_TYPE(self) == &ValueType && plain(other))
        return Value_add((ValueObject *)self, other);
    return PyNumber_Add(self, other);
}

static PyObject *v_mul(PyObject *self, PyObject *other) /* self * other */
{
    if (Py_TYPE(self) == &ValueType && plain(other))
        return Value_mul((ValueObject *)self, other);
    return PyNumber_Multiply(self, other);
}

static PyObject *v_pow(PyObject *self, PyObject *other) /* self ** other */
{
    if (Py_TYPE(self) == &ValueType && plain(other))
        return Value_pow((ValueObject *)self, other);
    return PyNumber_Power(self, other, Py_None);
}

static PyObject *Value_neg(PyObject *self) /* -self */
{
    return v_mul(self, MINUS_ONE);
}

static PyObject *Value_sub(PyObject *self, PyObject *other) /* self + (-other) */
{
    PyObject *neg = PyNumber_Negative(other);
    if (!neg)
        return NULL;
    PyObject *r = v_add(self, neg);
    Py_DECREF(neg);
    return r;
}

static PyObject *Value_rsub(PyObject *self, PyObject *other) /* other + (-self) */
{
    PyObject *neg = PyNumber_Negative(self);
    if (!neg)
        return NULL;
    PyObject *r = PyNumber_Add(other, neg);
    Py_DECREF(neg);
    return r;
}

/* engine.py's _check_divisor: `a / b` is `a * b**-1`, as in the original; say "division" when
 * b is 0. */
static int check_divisor(PyObject *divisor, PyObject *dividend)
{
    int zero;
    if (Value_Check(divisor) && (((ValueObject *)divisor)->flags & UNSET_DATA))
        return unset_data_error((ValueObject *)divisor); /* engine.py reads divisor.data */
    Num value = Value_Check(divisor) ? slot_get((ValueObject *)divisor, DATA)
                                     : (PyFloat_CheckExact(divisor) ? num_float(PyFloat_AS_DOUBLE(divisor))
                                                                    : (Num){divisor, 0.0});
    if (!value.o)
        zero = value.f == 0;
    else {
        Py_INCREF(value.o);
        int real = PyObject_IsInstance(value.o, NUMBERS_REAL);
        zero = real > 0 ? PyObject_RichCompareBool(value.o, ZERO, Py_EQ) : real;
        Py_DECREF(value.o);
    }
    if (zero < 0)
        return -1;
    if (zero) {
        PyErr_Format(PyExc_ZeroDivisionError, "division by zero: %R / %R", dividend, divisor);
        return -1;
    }
    return 0;
}

static PyObject *Value_truediv(PyObject *self, PyObject *other) /* self * other**-1 */
{
    if (check_divisor(other, self) < 0)
        return NULL;
    PyObject *inverse = Value_Check(other) ? v_pow(other, MINUS_ONE)
                                           : PyNumber_Power(other, MINUS_ONE, Py_None);
    if (!inverse)
        return NULL;
    PyObject *r = v_mul(self, inverse);
    Py_DECREF(inverse);
    return r;
}

static PyObject *Value_rtruediv(PyObject *self, PyObject *other) /* other * self**-1 */
{
    if (check_divisor(self, other) < 0)
        return NULL;
    PyObject *inverse = v_pow(self, MINUS_ONE);
    if (!inverse)
        return NULL;
    PyObject *r = PyNumber_Multiply(other, inverse);
    Py_DECREF(inverse);
    return r;
}

static PyObject *RPOW_DESCR; /* Value.__rpow__ as found on the type */

static PyObject *Value_rpow(PyObject *self, PyObject *other) /* _as_value(other) ** self */
{
    PyObject *base = as_value(other);
    if (!base)
        return NULL;
    /* A Python subclass reaches here through its __rpow__ even for `base ** self` (its own
     * __rpow__ method makes its power slot the generic one, which Python tries first for a
     * subclass): unless it overrides __rpow__, compute base ** self here, as Python computes
     * engine.py's `base ** self` with Value.__pow__, instead of asking Python again forever. */
    PyObject *r = Py_TYPE(base) == &ValueType &&
                          _PyType_Lookup(Py_TYPE(self), STR_RPOW) == RPOW_DESCR
                      ? Value_pow((ValueObject *)base, self)
                      : v_pow(base, self);
    Py_DECREF(base);
    return r;
}

/* v.__rpow__(other) called by hand. Python's operators reach nb_power below instead; this
 * method replaces the slot's wrapper (METH_COEXIST) so that a wrong call raises engine.py's
 * TypeError (the wrapper took `v.__rpow__(2, 3)` for a three-argument pow). */
static PyObject *Value_rpow_method(PyObject *self, PyObject *const *args, Py_ssize_t nargsf,
                                   PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (!kwnames && nargs == 1)
        return Value_rpow(self, args[0]);
    if (load_helpers() < 0)
        return NULL;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    PyObject **full = PyMem_Malloc((nargs + nkw + 1) * sizeof(PyObject *));
    if (!full)
        return PyErr_NoMemory();
    full[0] = self;
    for (Py_ssize_t i = 0; i < nargs + nkw; i++)
        full[i + 1] = args[i];
    PyObject *other = PyObject_Vectorcall(H_rpow_arguments, full, nargs + 1, kwnames);
    PyMem_Free(full);
    if (!other)
        return NULL;
    PyObject *r = Value_rpow(self, other);
    Py_DECREF(other);
    return r;
}

/* The number protocol: Python calls these with the Value on either side. */

static PyObject *nb_add(PyObject *a, PyObject *b)
{
    return Value_Check(a) ? Value_add((ValueObject *)a, b) : v_add(b, a); /* __radd__ */
}

static PyObject *nb_subtract(PyObject *a, PyObject *b)
{
    return Value_Check(a) ? Value_sub(a, b) : Value_rsub(b, a);
}

static PyObject *nb_multiply(PyObject *a, PyObject *b)
{
    return Value_Check(a) ? Value_mul((ValueObject *)a, b) : v_mul(b, a); /* __rmul__ */
}

static PyObject *nb_true_divide(PyObject *a, PyObject *b)
{
    return Value_Check(a) ? Value_truediv(a, b) : Value_rtruediv(b, a);
}

static PyObject *nb_power(PyObject *a, PyObject *b, PyObject *modulus)
{
    if (modulus != Py_None) { /* pow(x, y, m): engine.py's __pow__ takes no third argument */
        if (!Value_Check(a))
            Py_RETURN_NOTIMPLEMENTED;
        PyErr_SetString(PyExc_TypeError,
                        "Value.__pow__() takes 2 positional arguments but 3 were given");
        return NULL;
    }
    return Value_Check(a) ? Value_pow((ValueObject *)a, b) : Value_rpow(b, a);
}

/* ---------------------------------------------------------------------------------------------
 * The inputs of a node, as the original exposed them: _prev
 */

/* Give the number in `_b` the leaf node the original would have made for it, once. Its grad is
 * what backward() would have put there: local derivative * this node's grad. */
static PyObject *Value__constant_as_value(ValueObject *self, PyObject *unused)
{
    if (self->flags & UNSET_LINKS) {
        unset_error(self, "_b");
        return NULL;
    }
    if (!self->b || Value_Check(self->b)) { /* engine.py's Value(self._b) refuses it */
        PyObject *refused = check_number(self->b ? self->b : Py_None);
        if (refused) { /* (cannot happen: check_number refuses None and Values) */
            Py_DECREF(refused);
            PyErr_SetString(PyExc_TypeError, "_constant_as_value: no constant input");
        }
        return NULL;
    }
    Py_INCREF(self->b);
    PyObject *constant = leaf(num_from_object(self->b));
    if (!constant)
        return NULL;
    /* engine.py: `if self.grad: constant.grad = self._db * self.grad; self._b = constant`.
     * The allocation above (through the collector's finalizers) and the grad's truth test can
     * run code that changes this node, even its inputs (`_prev = ...`): every field is read
     * again after them, as engine.py reads them (a `_db` made None then raises its TypeError). */
    Num g = slot_copy(self, GRAD);
    int nonzero = g.o ? PyObject_IsTrue(g.o) : g.f != 0;
    num_release(g);
    if (nonzero > 0) {
        Num db = slot_copy(self, DB), product;
        g = slot_copy(self, GRAD);
        int e = num_binop(MUL, db, g, &product);
        num_release(db);
        num_release(g);
        if (e < 0)
            nonzero = -1;
        else
            slot_set((ValueObject *)constant, GRAD, product);
    }
    if (nonzero < 0) {
        Py_DECREF(constant);
        return NULL;
    }
    PyObject *old = self->b; /* whatever it is now (NULL if the inputs were replaced) */
    Py_INCREF(constant);
    self->b = constant;
    Py_XDECREF(old);
    return constant;
}

static PyObject *Value_get_prev(ValueObject *self, void *closure)
{
    if (need(self, UNSET_LINKS) < 0)
        return NULL;
    PyObject *a = self->a, *b = self->b, *r;
    if (!a)
        return PyTuple_New(0);
    if (PyTuple_CheckExact(a)) {
        Py_INCREF(a);
        return a;
    }
    /* The inputs are owned while the tuple is made: allocating it (through the collector's
     * finalizers) or _constant_as_value (a grad's truth test) can run code that replaces them.
     * As in engine.py, the result holds the `a` read first and the constant's new leaf. */
    Py_INCREF(a);
    if (!b)
        r = PyTuple_Pack(1, a);
    else if (!Value_Check(b)) {
        PyObject *c = Value__constant_as_value(self, NULL);
        r = c ? PyTuple_Pack(2, a, c) : NULL;
        Py_XDECREF(c);
    }
    else {
        Py_INCREF(b);
        r = PyTuple_Pack(2, a, b);
        Py_DECREF(b);
    }
    Py_DECREF(a);
    return r;
}

/* tuple(seq), a new reference. PySequence_Tuple copies an exact list with PyList_AsTuple, which
 * reads the list's size and item array before allocating the tuple; on Python <= 3.11 that
 * allocation can run the collector, whose finalizers may change or clear the list. Here the
 * tuple is allocated first and the list read after. */
static PyObject *items_tuple(PyObject *seq)
{
    if (PyTuple_CheckExact(seq)) {
        Py_INCREF(seq);
        return seq;
    }
    if (!PyList_CheckExact(seq))
        return PySequence_Tuple(seq);
    for (;;) {
        Py_ssize_t n = PyList_GET_SIZE(seq);
        PyObject *t = PyTuple_New(n);
        if (!t)
            return NULL;
        if (PyList_GET_SIZE(seq) == n) { /* no code runs from here on */
            for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *item = PyList_GET_ITEM(seq, i);
                Py_INCREF(item);
                PyTuple_SET_ITEM(t, i, item);
            }
            return t;
        }
        Py_DECREF(t); /* the list changed size meanwhile: read it again */
    }
}

/* engine.py's _prev setter. Inputs set by user code come without local derivatives: as in the
 * original, gradient flows through such a node only by a `_backward` that the user assigns. */
static int set_children(ValueObject *self, PyObject *children)
{
    slot_set_none(self, DA);
    slot_set_none(self, DB);
    PyObject *t = items_tuple(children);
    if (!t)
        return -1;
    Py_ssize_t n = PyTuple_GET_SIZE(t);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *child = PyTuple_GET_ITEM(t, i);
        if (!Value_Check(child)) {
            PyObject *name = type_name(child);
            if (name) {
                PyErr_Format(PyExc_TypeError, "Value children must be Values, got %U", name);
                Py_DECREF(name);
            }
            Py_DECREF(t);
            return -1;
        }
    }
    PyObject *old_a = self->a, *old_b = self->b;
    self->flags &= ~UNSET_LINKS;
    self->b = NULL;
    if (n == 0)
        self->a = NULL;
    else if (n == 1) {
        self->a = PyTuple_GET_ITEM(t, 0);
        Py_INCREF(self->a);
    }
    else if (n == 2) {
        self->a = PyTuple_GET_ITEM(t, 0);
        self->b = PyTuple_GET_ITEM(t, 1);
        Py_INCREF(self->a);
        Py_INCREF(self->b);
    }
    else {
        self->a = t;
        t = NULL;
    }
    Py_XDECREF(t);
    Py_XDECREF(old_a);
    Py_XDECREF(old_b);
    return 0;
}

static int Value_set_prev(ValueObject *self, PyObject *children, void *closure)
{
    if (!children) {
        PyErr_SetString(PyExc_AttributeError, "property '_prev' of 'Value' object has no deleter");
        return -1;
    }
    start_tracking(); /* a node given inputs after its birth can be part of a cycle */
    return set_children(self, children);
}

/* ---------------------------------------------------------------------------------------------
 * Backpropagation
 */

/* The local derivatives of a `dot` node whose inputs are all floats or small ints, as a C array
 * instead of engine.py's tuple of numbers: no float object is made per input. Item 0 belongs to
 * the bias, whose derivative is always the int 1 (engine.py's `derivatives = [1]`). Seen from
 * Python (pickling) it is the tuple engine.py has. */
typedef struct {
    PyObject_VAR_HEAD
    double d[1]; /* n doubles, then n kind bytes: 0 a float, 1 an int of that exact value */
} DerivativesObject;

static PyTypeObject DerivativesType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "micrograd._cengine._Derivatives",
    .tp_basicsize = offsetof(DerivativesObject, d),
    .tp_itemsize = sizeof(double) + 1,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)PyObject_Free,
};

#define KINDS(D) ((unsigned char *)((D)->d + Py_SIZE(D)))

/* Derivative i as a number with a reference of its own. */
static Num derivative(DerivativesObject *D, Py_ssize_t i)
{
    if (i == 0)
        return num_object(ONE);
    if (KINDS(D)[i] == 0)
        return num_float(D->d[i]);
    Num n = {PyLong_FromLongLong((long long)D->d[i]), 0.0};
    return n;
}

/* engine.py's tuple of derivatives (a new reference). */
static PyObject *derivatives_tuple(DerivativesObject *D)
{
    PyObject *t = PyTuple_New(Py_SIZE(D));
    for (Py_ssize_t i = 0; t && i < Py_SIZE(D); i++) {
        Num n = derivative(D, i);
        PyObject *o = n.o ? n.o : PyFloat_FromDouble(n.f); /* (takes n's reference) */
        if (!o) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, o);
    }
    return t;
}

/* A number a Derivatives array can hold: 1 (and its double) if so. */
static inline int small_number(Num n, double *out, unsigned char *kind)
{
    if (!n.o) {
        *out = n.f;
        *kind = 0;
        return 1;
    }
    if (!PyLong_CheckExact(n.o))
        return 0;
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(n.o, &overflow);
    if (overflow || v > (1LL << 53) || v < -(1LL << 53))
        return 0;
    *out = (double)v;
    *kind = 1;
    return 1;
}

/* child.grad += d * g */
static inline int accumulate(ValueObject *child, Num d, Num g)
{
    Num t, r;
    if (num_binop(MUL, d, g, &t) < 0)
        return -1;
    if (need(child, UNSET_GRAD) < 0) {
        num_release(t);
        return -1;
    }
    Num current = slot_copy(child, GRAD);
    int e = num_binop(IADD, current, t, &r);
    num_release(current);
    num_release(t);
    if (e < 0)
        return -1;
    slot_set(child, GRAD, r);
    return 0;
}

/* A number held in a tuple, with a reference of its own. */
static inline Num num_of(PyObject *o)
{
    if (PyFloat_CheckExact(o))
        return num_float(PyFloat_AS_DOUBLE(o));
    Py_INCREF(o);
    return (Num){o, 0.0};
}

/* engine.py's Value._backward: apply the chain rule at this node, adding (local derivative *
 * this node's grad) into each input's grad. */
static int local_backward(ValueObject *self)
{
    if (need(self, UNSET_LINKS) < 0 || (self->a && need(self, UNSET_GRAD) < 0))
        return -1;
    PyObject *a = self->a;
    if (!a || slot_is_none(self, DA))
        return 0; /* a leaf, or a node made by user code with no `_backward` of its own */
    int e = 0;
    Num g = slot_copy(self, GRAD);
    Py_INCREF(a); /* user code run by a number's arithmetic must not free what we walk */
    if (PyTuple_CheckExact(a)) {
        /* Last input first: the order in which the unfused chain of `+` nodes that `dot`
         * replaces would add into them, so a Value used twice gets the same float. */
        PyObject *da = self->num[DA].o;
        Py_INCREF(da);
        int array = Py_TYPE(da) == &DerivativesType;
        Py_ssize_t na = PyTuple_GET_SIZE(a), nd = array ? Py_SIZE(da) : PyTuple_GET_SIZE(da);
        for (Py_ssize_t i = 1; i <= na && i <= nd && e == 0; i++) {
            Num d = array ? derivative((DerivativesObject *)da, nd - i)
                          : num_of(PyTuple_GET_ITEM(da, nd - i));
            if (array && d.o == NULL && KINDS((DerivativesObject *)da)[nd - i])
                e = -1; /* an int that could not be made (no memory) */
            else
                e = accumulate((ValueObject *)PyTuple_GET_ITEM(a, na - i), d, g);
            num_release(d);
        }
        Py_DECREF(da);
    }
    else {
        Num d = slot_copy(self, DA);
        e = accumulate((ValueObject *)a, d, g);
        num_release(d);
        PyObject *b = self->b;
        if (e == 0 && b && Value_Check(b)) { /* not None, nor a constant nobody asked to see */
            Py_INCREF(b);
            d = slot_copy(self, DB);
            e = accumulate((ValueObject *)b, d, g);
            num_release(d);
            Py_DECREF(b);
        }
    }
    Py_DECREF(a);
    num_release(g);
    return e;
}

static PyObject *Value__backward(ValueObject *self, PyObject *unused)
{
    if (local_backward(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* node._backward() as backward() calls it: the user's own `_backward` if the node has one (in
 * its __dict__, or a Python subclass's method), else the built-in one. */
static int run_backward(ValueObject *v)
{
    int own = 0;
    if (v->dict) {
        PyObject *dict = v->dict; /* owned: a key's __eq__ could replace it during the lookup */
        Py_INCREF(dict);
        PyObject *f = PyDict_GetItemWithError(dict, STR_BACKWARD);
        Py_DECREF(dict);
        if (!f && PyErr_Occurred())
            return -1;
        own = f != NULL;
    }
    if (!own && Py_TYPE(v) != &ValueType)
        own = _PyType_Lookup(Py_TYPE(v), STR_BACKWARD) != BACKWARD_DESCR;
    if (own) {
        PyObject *r = PyObject_CallMethodNoArgs((PyObject *)v, STR_BACKWARD);
        Py_XDECREF(r);
        return r ? 0 : -1;
    }
    return local_backward(v);
}

/* A growable array of node pointers (NULL marks engine.py's _FINISHED). */
typedef struct {
    ValueObject **items;
    Py_ssize_t n, size;
} Stack;

static inline int push(Stack *s, ValueObject *v)
{
    if (s->n == s->size) {
        Py_ssize_t size = s->size ? 2 * s->size : 256;
        ValueObject **items = PyMem_Realloc(s->items, size * sizeof(ValueObject *));
        if (!items) {
            PyErr_NoMemory();
            return -1;
        }
        s->items = items;
        s->size = size;
    }
    s->items[s->n++] = v;
    return 0;
}

static void release_order(Stack *order)
{
    for (Py_ssize_t i = 0; i < order->n; i++)
        Py_DECREF(order->items[i]);
    PyMem_Free(order->items);
    order->items = NULL;
    order->n = order->size = 0;
}

/* engine.py's _topological_order, into `order` (with a reference to each node): all nodes this
 * Value depends on, each after its inputs, and every interior node's grad set to 0. The walk
 * itself runs no Python code, so the graph cannot change under it; a flag on each node stands
 * for engine.py's `visited` set. */
static int walk(ValueObject *root, Stack *order)
{
    Stack stack = {0}, entered = {0};
    ValueObject *node = NULL; /* the node being placed: marked, but perhaps in no list yet */
    int e = push(&stack, root);
    while (e == 0 && stack.n) {
        node = stack.items[--stack.n];
        if (!node) {
            node = entered.items[--entered.n];
            e = push(order, node); /* all its inputs are in `order` now */
            continue;
        }
        /* A node can be on the stack more than once (pushed by each consumer that reached it
         * before it was walked); only its first time off the stack counts. */
        if (node->flags & VISITED)
            continue;
        if (node->flags & UNSET_LINKS) { /* engine.py reads node._a */
            e = need(node, UNSET_LINKS);
            break;
        }
        node->flags |= VISITED;
        PyObject *a = node->a;
        if (!a) {
            e = push(order, node); /* a leaf goes straight into the order */
            continue;
        }
        if ((e = push(&entered, node)) < 0 || (e = push(&stack, NULL)) < 0)
            break;
        /* Inputs are pushed in reverse so that they come off the stack in order. */
        if (PyTuple_CheckExact(a)) {
            for (Py_ssize_t i = PyTuple_GET_SIZE(a) - 1; i >= 0 && e == 0; i--) {
                ValueObject *child = (ValueObject *)PyTuple_GET_ITEM(a, i);
                if (!(child->flags & VISITED))
                    e = push(&stack, child);
            }
        }
        else {
            PyObject *b = node->b;
            if (b && Value_Check(b) && !(((ValueObject *)b)->flags & VISITED))
                e = push(&stack, (ValueObject *)b);
            if (e == 0 && !(((ValueObject *)a)->flags & VISITED))
                e = push(&stack, (ValueObject *)a);
        }
    }
    /* Clear the flags: every visited node is in `order`, or still `entered` after an error, or
     * is the node whose push failed (no memory). A mark left behind would hide that node from
     * every later walk of the process. */
    if (e < 0 && node)
        node->flags &= ~VISITED;
    for (Py_ssize_t i = 0; i < order->n; i++)
        order->items[i]->flags &= ~VISITED;
    for (Py_ssize_t i = 0; i < entered.n; i++)
        entered.items[i]->flags &= ~VISITED;
    PyMem_Free(stack.items);
    PyMem_Free(entered.items);
    if (e < 0) {
        PyMem_Free(order->items);
        order->items = NULL;
        order->n = 0;
        return -1;
    }
    for (Py_ssize_t i = 0; i < order->n; i++)
        Py_INCREF(order->items[i]);
    for (Py_ssize_t i = 0; i < order->n; i++)
        if (order->items[i]->a) {
            slot_set(order->items[i], GRAD, num_object(ZERO));
            order->items[i]->flags &= ~UNSET_GRAD;
        }
    return 0;
}

static PyObject *Value__topological_order(ValueObject *self, PyObject *unused)
{
    Stack order = {0};
    if (walk(self, &order) < 0)
        return NULL;
    PyObject *list = PyList_New(order.n);
    if (list) {
        for (Py_ssize_t i = 0; i < order.n; i++)
            PyList_SET_ITEM(list, i, (PyObject *)order.items[i]); /* the list takes the refs */
        order.n = 0;
    }
    release_order(&order);
    return list;
}

/* Compute d self / d node for every node this Value depends on, into `node.grad`. As in
 * PyTorch, gradients of leaves accumulate over calls, while every interior node's grad is
 * recomputed. */
static PyObject *Value_backward(ValueObject *self, PyObject *unused)
{
    Stack order = {0};
    if (walk(self, &order) < 0)
        return NULL;
    slot_set(self, GRAD, num_object(ONE));
    self->flags &= ~UNSET_GRAD;
    for (Py_ssize_t i = order.n - 1; i >= 0; i--) {
        /* Ctrl-C stops a long backward pass (every node is held by `order` meanwhile) */
        if (((i & 0xFFFF) == 0 && PyErr_CheckSignals() < 0) || run_backward(order.items[i]) < 0) {
            release_order(&order);
            return NULL;
        }
    }
    release_order(&order);
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------------------------
 * dot: the fused weighted sum
 */

/* dot's fast path, when every weight and input holds a float or a small int: the same additions
 * in the same order, the derivatives kept in a C array. Returns Py_None (a new reference) when
 * the general path below must be taken (it also raises the errors). */
static PyObject *dot_of_numbers(PyObject *weights, PyObject *inputs, ValueObject *bias)
{
    if (!PyList_CheckExact(weights) && !PyTuple_CheckExact(weights))
        Py_RETURN_NONE;
    if (!PyList_CheckExact(inputs) && !PyTuple_CheckExact(inputs))
        Py_RETURN_NONE;
    PyObject **ws = PySequence_Fast_ITEMS(weights), **xs = PySequence_Fast_ITEMS(inputs);
    Py_ssize_t n = PySequence_Fast_GET_SIZE(weights), count = 1;
    if (PySequence_Fast_GET_SIZE(inputs) != n)
        Py_RETURN_NONE;
    double v;
    unsigned char kind;
    /* Count the inputs first (no code runs here, so the lists cannot change) */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = xs[i];
        if (Value_Check(x))
            count += 2;
        else if (PyFloat_CheckExact(x) || PyLong_CheckExact(x))
            count += 1;
        else
            Py_RETURN_NONE;
    }
    PyObject *children = PyTuple_New(count);
    DerivativesObject *D = PyObject_NewVar(DerivativesObject, &DerivativesType, count);
    if (!children || !D) {
        Py_XDECREF(children);
        Py_XDECREF(D);
        return NULL;
    }
    /* Allocating the tuple can run the collector (Python <= 3.11), whose finalizers may change
     * the lists, the bias or any Value in them: everything is read (and checked) from here on,
     * where no code runs until node() below. Anything changed means the general path. */
    ws = PySequence_Fast_ITEMS(weights);
    xs = PySequence_Fast_ITEMS(inputs);
    Num total = slot_get(bias, DATA);
    if (PySequence_Fast_GET_SIZE(weights) != n || PySequence_Fast_GET_SIZE(inputs) != n ||
        (bias->flags & UNSET_DATA) || !small_number(total, &v, &kind))
        goto general;
    unsigned char *kinds = KINDS(D);
    Py_INCREF(bias);
    PyTuple_SET_ITEM(children, 0, (PyObject *)bias);
    D->d[0] = 1.0; /* the bias's derivative, the int 1 (see derivative()) */
    kinds[0] = 1;
    Py_XINCREF(total.o);
    Py_ssize_t k = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *w = ws[i], *x = xs[i];
        if (!Value_Check(w) || (((ValueObject *)w)->flags & UNSET_DATA) ||
            !small_number(slot_get((ValueObject *)w, DATA), &v, &kind))
            goto general_total;
        Num wd = slot_get((ValueObject *)w, DATA), y, product, sum;
        if (Value_Check(x)) {
            y = slot_get((ValueObject *)x, DATA);
            /* d/dw = x, d/dx = w */
            if (k + 2 > count || (((ValueObject *)x)->flags & UNSET_DATA) ||
                !small_number(y, &D->d[k], &kinds[k]))
                goto general_total;
            Py_INCREF(w);
            PyTuple_SET_ITEM(children, k, w);
            Py_INCREF(x);
            PyTuple_SET_ITEM(children, k + 1, x);
            small_number(wd, &D->d[k + 1], &kinds[k + 1]);
            k += 2;
        }
        else {
            y = PyFloat_CheckExact(x) ? num_float(PyFloat_AS_DOUBLE(x)) : (Num){x, 0.0};
            if (k + 1 > count || (!PyFloat_CheckExact(x) && !PyLong_CheckExact(x)) ||
                !small_number(y, &D->d[k], &kinds[k]))
                goto general_total;
            Py_INCREF(w);
            PyTuple_SET_ITEM(children, k, w);
            k += 1;
        }
        /* total = total + w.data * y: floats and small ints, nothing can fail but memory */
        if (num_binop(MUL, wd, y, &product) < 0)
            goto no_memory;
        int e = num_binop(ADD, total, product, &sum);
        num_release(product);
        if (e < 0)
            goto no_memory;
        num_release(total);
        total = sum;
    }
    if (k != count)
        goto general_total;
    PyObject *r = node(total, OP_DOT, children, NONE, NULL, NONE);
    if (r) /* n inputs: the derivatives are kept in `_da` */
        slot_set((ValueObject *)r, DA, (Num){(PyObject *)D, 0.0});
    else
        Py_DECREF(D);
    return r;
no_memory:
    num_release(total);
    Py_DECREF(children);
    Py_DECREF(D);
    return NULL;
general_total:
    num_release(total);
general:
    /* (the lists still hold every item taken above: releasing them runs no code) */
    Py_DECREF(children);
    Py_DECREF(D);
    Py_RETURN_NONE;
}

/* `bias + weights[0]*inputs[0] + weights[1]*inputs[1] + ...` as one graph node, adding in the
 * same order as the unfused sum (engine.py's dot). */
static PyObject *engine_dot(PyObject *module, PyObject *const *args, Py_ssize_t nargsf,
                            PyObject *kwnames)
{
    PyObject *parsed = NULL, *weights, *inputs, *bias, *ws = NULL, *xs = NULL;
    PyObject *children = NULL, *derivatives = NULL, *r = NULL;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Num total = NONE;
    if (kwnames || nargs != 3) {
        if (load_helpers() < 0 ||
            !(parsed = PyObject_Vectorcall(H_dot_arguments, args, nargs, kwnames)))
            return NULL;
        weights = PyTuple_GET_ITEM(parsed, 0);
        inputs = PyTuple_GET_ITEM(parsed, 1);
        bias = PyTuple_GET_ITEM(parsed, 2);
    }
    else {
        weights = args[0];
        inputs = args[1];
        bias = args[2];
    }
    Py_ssize_t nw = PyObject_Size(weights), ni = nw < 0 ? -1 : PyObject_Size(inputs);
    if (nw < 0 || ni < 0)
        goto done;
    if (nw != ni) {
        PyErr_Format(PyExc_ValueError, "dot: %zd weights but %zd inputs", nw, ni);
        goto done;
    }
    if (!(bias = as_value(bias)))
        goto done;
    if ((r = dot_of_numbers(weights, inputs, (ValueObject *)bias)) != Py_None)
        goto done_bias; /* done (or failed) on the fast path */
    Py_DECREF(r);
    r = NULL;
    if (need((ValueObject *)bias, UNSET_DATA) < 0)
        goto done_bias;
    total = slot_copy((ValueObject *)bias, DATA);
    children = PyList_New(0);
    derivatives = PyList_New(0);
    if (!children || !derivatives || PyList_Append(children, bias) < 0 ||
        PyList_Append(derivatives, ONE) < 0) /* d/d bias = 1 */
        goto done_bias;
    /* Tuples (copies of lists): code run by a check below cannot change what is iterated. */
    if (!(ws = items_tuple(weights)) || !(xs = items_tuple(inputs)))
        goto done_bias;
    Py_ssize_t n = PyTuple_GET_SIZE(ws);
    if (PyTuple_GET_SIZE(xs) < n)
        n = PyTuple_GET_SIZE(xs);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *w = PyTuple_GET_ITEM(ws, i), *x = PyTuple_GET_ITEM(xs, i);
        Num y, wd, product, sum;
        if (!Value_Check(w)) {
            PyObject *name = type_name(w);
            if (name) {
                PyErr_Format(PyExc_TypeError, "dot: weights[%zd] must be a Value, got %U", i,
                             name);
                Py_DECREF(name);
            }
            goto done_bias;
        }
        if (Value_Check(x)) {
            if (need((ValueObject *)x, UNSET_DATA) < 0 || need((ValueObject *)w, UNSET_DATA) < 0)
                goto done_bias;
            y = slot_copy((ValueObject *)x, DATA);
            /* d/dw = x, d/dx = w */
            PyObject *dy = num_box(y), *dw = num_box(slot_get((ValueObject *)w, DATA));
            int e = (!dy || !dw || PyList_Append(children, w) < 0 ||
                     PyList_Append(children, x) < 0 || PyList_Append(derivatives, dy) < 0 ||
                     PyList_Append(derivatives, dw) < 0);
            Py_XDECREF(dy);
            Py_XDECREF(dw);
            if (e) {
                num_release(y);
                goto done_bias;
            }
        }
        else {
            PyObject *c = check_number(x);
            if (!c)
                goto done_bias;
            if (need((ValueObject *)w, UNSET_DATA) < 0) {
                Py_DECREF(c);
                goto done_bias;
            }
            int e = PyList_Append(children, w) < 0 || PyList_Append(derivatives, c) < 0;
            y = num_from_object(c);
            if (e) {
                num_release(y);
                goto done_bias;
            }
        }
        wd = slot_copy((ValueObject *)w, DATA);
        int e = num_binop(MUL, wd, y, &product);
        if (e == 0) {
            e = num_binop(ADD, total, product, &sum);
            num_release(product);
        }
        if (e < 0) {
            Num operands[3] = {total, wd, y};
            too_large(NAME_DOT, operands, 3);
        }
        num_release(wd);
        num_release(y);
        if (e < 0)
            goto done_bias;
        num_release(total);
        total = sum;
    }
    PyObject *ct = items_tuple(children), *dt = ct ? items_tuple(derivatives) : NULL;
    if (ct && dt) {
        r = node(total, OP_DOT, ct, NONE, NULL, NONE);
        total = NONE;
        if (r) /* n inputs: the derivatives are kept as a tuple in `_da` */
            slot_set((ValueObject *)r, DA, (Num){dt, 0.0});
        else
            Py_DECREF(dt);
    }
    else
        Py_XDECREF(ct);
done_bias:
    Py_DECREF(bias);
done:
    num_release(total);
    Py_XDECREF(ws);
    Py_XDECREF(xs);
    Py_XDECREF(children);
    Py_XDECREF(derivatives);
    Py_XDECREF(parsed);
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * The constructor: Value(data, _children=(), _op='', label='', *, _prev=None)
 */

/* engine.py's __init__ on a node whose fields hold defaults. `fresh`: the node was made by this
 * very call, so its inputs exist before it and cannot point back at it; otherwise (a subclass's
 * __init__, or __init__ called again) children could form a cycle: switch to tracked mode. */
static int init_fields(ValueObject *self, PyObject *data, PyObject *children, PyObject *op,
                       PyObject *label, PyObject *prev, int fresh)
{
    PyObject *d;
    if (PyFloat_CheckExact(data) || PyLong_CheckExact(data)) {
        Py_INCREF(data);
        d = data;
    }
    else if (!(d = check_number(data)))
        return -1;
    self->flags &= ~UNSET_ANY; /* everything is set below */
    slot_set(self, DATA, num_from_object(d));
    slot_set(self, GRAD, num_object(ZERO));
    watch(op);
    PyObject *old = self->op;
    Py_INCREF(op);
    self->op = op;
    Py_XDECREF(old);
    if (prev && prev != Py_None)
        children = prev;
    int some = children ? PyObject_IsTrue(children) : 0;
    if (some < 0)
        return -1;
    if (some) {
        if (!fresh)
            start_tracking();
        if (set_children(self, children) < 0)
            return -1;
    }
    else {
        PyObject *a = self->a, *b = self->b;
        self->a = self->b = NULL;
        slot_set_none(self, DA);
        slot_set_none(self, DB);
        Py_XDECREF(a);
        Py_XDECREF(b);
    }
    if (label) {
        int named = PyObject_IsTrue(label);
        if (named < 0 || (named && PyObject_SetAttrString((PyObject *)self, "label", label) < 0))
            return -1;
    }
    return 0;
}

/* Read the constructor's arguments: the plain positional forms here, anything else through
 * engine.py's _constructor_arguments, so that a wrong call raises the pure Value's TypeError.
 * Fills args5 (data, _children, _op, label, _prev) with borrowed references; *parsed keeps
 * them alive. */
static int constructor_arguments(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                                 PyObject **args5, PyObject **parsed)
{
    *parsed = NULL;
    if (!kwnames && nargs >= 1 && nargs <= 4) {
        args5[0] = args[0];
        args5[1] = nargs > 1 ? args[1] : NULL;
        args5[2] = nargs > 2 ? args[2] : EMPTY;
        args5[3] = nargs > 3 ? args[3] : NULL;
        args5[4] = NULL;
        return 0;
    }
    if (load_helpers() < 0)
        return -1;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    PyObject **full = PyMem_Malloc((nargs + nkw + 1) * sizeof(PyObject *));
    if (!full) {
        PyErr_NoMemory();
        return -1;
    }
    full[0] = Py_None; /* `self` */
    for (Py_ssize_t i = 0; i < nargs + nkw; i++)
        full[i + 1] = args[i];
    PyObject *r = PyObject_Vectorcall(H_constructor_arguments, full, nargs + 1, kwnames);
    PyMem_Free(full);
    if (!r)
        return -1;
    if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) != 5) {
        Py_DECREF(r);
        PyErr_SetString(PyExc_SystemError, "_constructor_arguments returned a bad result");
        return -1;
    }
    for (int i = 0; i < 5; i++)
        args5[i] = PyTuple_GET_ITEM(r, i);
    *parsed = r;
    return 0;
}

/* A node with the defaults of a Value whose __init__ has not run. */
static void set_defaults(ValueObject *v)
{
    v->flags = IS_OBJ(GRAD) | IS_OBJ(DA) | IS_OBJ(DB) | UNSET_ANY;
    v->num[DATA].f = 0.0;
    v->num[GRAD].o = ZERO;
    Py_INCREF(ZERO);
    v->num[DA].o = v->num[DB].o = NULL;
    v->a = v->b = v->dict = NULL;
    v->prev = v->next = NULL;
    v->op = EMPTY;
    Py_INCREF(EMPTY);
}

/* Does a Python subclass add writable object slots (its `__slots__`) to Value's layout? */
static int declares_slots(PyTypeObject *type)
{
    for (PyTypeObject *t = type; t && t != &ValueType; t = t->tp_base)
        for (PyMemberDef *m = t->tp_members; m && m->name; m++)
            if ((m->type == T_OBJECT_EX || m->type == T_OBJECT) && !(m->flags & READONLY))
                return 1;
    return 0;
}

static PyObject *Value_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (type == &ValueType)
        return leaf(num_float(0.0));
    /* A Python subclass: its instances have room for its own slots, and are tracked by the
     * collector from their allocation (they hold a reference to their class). */
    ValueObject *v = (ValueObject *)type->tp_alloc(type, 0);
    if (!v)
        return NULL;
    set_defaults(v);
    born(v);
    /* Its own slots (`__slots__ = ('m', 'v')`) can be stored into without Value_setattro, by
     * their descriptors (`V.m.__set__(x, y)`): a Value stored so could form a cycle through
     * untracked nodes that the collector never sees. Such a class switches to tracked mode. */
    if (!tracking && declares_slots(type))
        start_tracking();
    return (PyObject *)v;
}

static int Value_init(ValueObject *self, PyObject *args, PyObject *kwds)
{
    PyObject *a5[5], *parsed, *kwnames = NULL;
    Py_ssize_t nargs = PyTuple_GET_SIZE(args), nkw = kwds ? PyDict_GET_SIZE(kwds) : 0;
    PyObject **vector = PyMem_Malloc((nargs + nkw + 1) * sizeof(PyObject *));
    if (!vector) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        vector[i] = PyTuple_GET_ITEM(args, i);
    if (nkw) {
        if (!(kwnames = PyTuple_New(nkw))) {
            PyMem_Free(vector);
            return -1;
        }
        Py_ssize_t pos = 0, i = 0;
        PyObject *key, *value;
        while (PyDict_Next(kwds, &pos, &key, &value)) {
            Py_INCREF(key);
            PyTuple_SET_ITEM(kwnames, i, key);
            vector[nargs + i++] = value;
        }
    }
    int e = constructor_arguments(vector, nargs, kwnames, a5, &parsed);
    PyMem_Free(vector);
    Py_XDECREF(kwnames);
    if (e < 0)
        return -1;
    e = init_fields(self, a5[0], a5[1], a5[2], a5[3], a5[4], 0);
    Py_XDECREF(parsed);
    return e;
}

/* Value(...) on the class itself: allocation and __init__ in one step. */
static PyObject *Value_vectorcall(PyObject *type, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if ((PyTypeObject *)type != &ValueType) { /* what type.__call__ does */
        PyObject *tuple = PyTuple_New(nargs), *kwargs = NULL, *obj = NULL;
        if (!tuple)
            return NULL;
        for (Py_ssize_t i = 0; i < nargs; i++) {
            Py_INCREF(args[i]);
            PyTuple_SET_ITEM(tuple, i, args[i]);
        }
        if (kwnames && PyTuple_GET_SIZE(kwnames)) {
            if (!(kwargs = PyDict_New()))
                goto fail;
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); i++)
                if (PyDict_SetItem(kwargs, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0)
                    goto fail;
        }
        obj = ((PyTypeObject *)type)->tp_new((PyTypeObject *)type, tuple, kwargs);
        if (obj && PyObject_TypeCheck(obj, (PyTypeObject *)type) && Py_TYPE(obj)->tp_init &&
            Py_TYPE(obj)->tp_init(obj, tuple, kwargs) < 0)
            Py_CLEAR(obj);
    fail:
        Py_DECREF(tuple);
        Py_XDECREF(kwargs);
        return obj;
    }
    if (!kwnames && nargs == 1 && PyFloat_CheckExact(args[0])) /* Value(0.5): most calls */
        return leaf(num_float(PyFloat_AS_DOUBLE(args[0])));
    PyObject *a5[5], *parsed;
    if (constructor_arguments(args, nargs, kwnames, a5, &parsed) < 0)
        return NULL;
    PyObject *v = leaf(num_float(0.0));
    if (v && init_fields((ValueObject *)v, a5[0], a5[1], a5[2], a5[3], a5[4], 1) < 0)
        Py_CLEAR(v);
    Py_XDECREF(parsed);
    return v;
}

/* ---------------------------------------------------------------------------------------------
 * Lifetime: the collector's view of a node, and freeing it
 */

static int Value_traverse(ValueObject *v, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(v));
    for (int s = 0; s < 4; s++)
        if (v->flags & IS_OBJ(s))
            Py_VISIT(v->num[s].o);
    Py_VISIT(v->a);
    Py_VISIT(v->b);
    Py_VISIT(v->op);
    Py_VISIT(v->dict);
    return 0;
}

/* Break a cycle the collector found: the node becomes a leaf holding 0.0. */
static int Value_clear(ValueObject *v)
{
    Py_CLEAR(v->dict);
    Py_CLEAR(v->a);
    Py_CLEAR(v->b);
    slot_set(v, DATA, num_float(0.0));
    slot_set(v, GRAD, num_float(0.0));
    slot_set_none(v, DA);
    slot_set_none(v, DB);
    PyObject *op = v->op;
    Py_INCREF(EMPTY);
    v->op = EMPTY;
    Py_XDECREF(op);
    return 0;
}

static void Value_dealloc(ValueObject *v)
{
    PyObject_GC_UnTrack(v);
    unlist(v); /* first: nothing may reach a dying node through the list */
    /* Freeing a node frees its inputs, which free theirs...: the trashcan turns that recursion
     * into a loop, so that dropping a chain of 10,000,000 ops does not overflow the C stack. */
    Py_TRASHCAN_BEGIN(v, Value_dealloc)
    live_values--;
    for (int s = 0; s < 4; s++)
        if (v->flags & IS_OBJ(s))
            Py_XDECREF(v->num[s].o);
    Py_XDECREF(v->a);
    Py_XDECREF(v->b);
    Py_XDECREF(v->op);
    Py_XDECREF(v->dict);
    PyTypeObject *type = Py_TYPE(v);
    type->tp_free((PyObject *)v);
    Py_DECREF(type); /* an instance of a heap type holds a reference to it */
    Py_TRASHCAN_END
}

/* ---------------------------------------------------------------------------------------------
 * Attributes
 */

/* Every attribute store goes through here: storing something the collector could follow
 * switches to tracked mode (see the header). */
static int Value_setattro(PyObject *self, PyObject *name, PyObject *value)
{
    watch(value);
    return PyObject_GenericSetAttr(self, name, value);
}

static int refuse_delete(const char *name)
{
    PyErr_Format(PyExc_AttributeError, "cannot delete a Value's %s", name);
    return -1;
}

static PyObject *Value_get_data(ValueObject *self, void *c)
{
    if (self->flags & UNSET_DATA) { /* engine.py's property names `data`, its ops `_data` */
        unset_data_error(self);
        return NULL;
    }
    return num_box(slot_get(self, DATA));
}

static int Value_set_data(ValueObject *self, PyObject *value, void *c)
{
    if (!value)
        return refuse_delete("data");
    if (Value_Check(value))
        return refuse_value_as_data(value); /* the slip `p.data = p - lr * p.grad` */
    if (!PyFloat_CheckExact(value) && !PyLong_CheckExact(value)) {
        /* engine.py's _check_data refuses the other engine's Values */
        PyObject *ok = helper(&H_check_data, &value, 1);
        if (!ok)
            return -1;
        Py_DECREF(ok);
    }
    /* Kept as given, as engine.py's slot keeps it (a numpy int64 stays one: `x.data =
     * np.int64(3)` then `1 / x` raises numpy's error for an integer to a negative power). */
    Py_INCREF(value);
    slot_set(self, DATA, num_from_object(value));
    self->flags &= ~UNSET_DATA;
    return 0;
}

static PyObject *Value_get_grad(ValueObject *self, void *c)
{
    return need(self, UNSET_GRAD) < 0 ? NULL : num_box(slot_get(self, GRAD));
}

static int Value_set_grad(ValueObject *self, PyObject *value, void *c)
{
    if (!value)
        return refuse_delete("grad");
    Py_INCREF(value);
    slot_set(self, GRAD, num_from_object(value));
    self->flags &= ~UNSET_GRAD;
    return 0;
}

static PyObject *Value_get_op(ValueObject *self, void *c)
{
    if (need(self, UNSET_OP) < 0)
        return NULL;
    PyObject *op = self->op ? self->op : EMPTY;
    Py_INCREF(op);
    return op;
}

static int Value_set_op(ValueObject *self, PyObject *value, void *c)
{
    if (!value)
        return refuse_delete("_op");
    /* Also reached without Value_setattro (`Value.__dict__['_op'].__set__(v, [v])`): watch the
     * value here, as every setter of this file does. */
    watch(value);
    PyObject *old = self->op;
    Py_INCREF(value);
    self->op = value;
    self->flags &= ~UNSET_OP;
    Py_XDECREF(old);
    return 0;
}

/* __dict__ handed out: user code may put anything in it, so switch to tracked mode. */
static PyObject *Value_get_dict(PyObject *self, void *c)
{
    start_tracking();
    return PyObject_GenericGetDict(self, c);
}

static int Value_set_dict(PyObject *self, PyObject *value, void *c)
{
    start_tracking();
    return PyObject_GenericSetDict(self, value, c);
}

static PyObject *Value_repr(ValueObject *self)
{
    if (need(self, UNSET_DATA) < 0 || need(self, UNSET_GRAD) < 0)
        return NULL;
    /* A Value holding a Value (made by a number type's own operator) formats it from here,
     * with no Python frame in between: count the depth as Python does. */
    if (Py_EnterRecursiveCall(" in Value.__repr__"))
        return NULL;
    PyObject *d = num_box(slot_get(self, DATA)), *g = num_box(slot_get(self, GRAD));
    PyObject *ds = d ? PyObject_Format(d, EMPTY) : NULL, *gs = g ? PyObject_Format(g, EMPTY) : NULL;
    Py_LeaveRecursiveCall();
    PyObject *r = ds && gs ? PyUnicode_FromFormat("Value(data=%U, grad=%U)", ds, gs) : NULL;
    Py_XDECREF(d);
    Py_XDECREF(g);
    Py_XDECREF(ds);
    Py_XDECREF(gs);
    return r;
}

static PyObject *Value_draw_dot(PyObject *self, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args)) {
        PyErr_SetString(PyExc_TypeError, "Value.draw_dot() takes 1 positional argument");
        return NULL;
    }
    PyObject *viz = PyImport_ImportModule("micrograd.viz");
    if (!viz)
        return NULL;
    PyObject *draw = PyObject_GetAttrString(viz, "draw_dot"), *r = NULL;
    Py_DECREF(viz);
    if (!draw)
        return NULL;
    PyObject *a = PyTuple_Pack(1, self);
    if (a)
        r = PyObject_Call(draw, a, kwargs);
    Py_XDECREF(a);
    Py_DECREF(draw);
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * copy and pickle: the same state as the pure Value's (its slots and __dict__), so that either
 * engine loads what the other saved
 */

/* The slots of a Python subclass (`__slots__ = ("m", "v")`, an optimizer's state) that hold a
 * value, added to `state` as object.__getstate__ adds them for engine.py's Value (copyreg's list
 * of slot names, unset slots left out). 0, or -1 with an exception. */
static int subclass_slots(PyObject *self, PyObject *state)
{
    PyObject *copyreg = PyImport_ImportModule("copyreg"), *names = NULL;
    int e = -1;
    if (!copyreg || !(names = PyObject_CallMethod(copyreg, "_slotnames", "O", Py_TYPE(self))))
        goto done;
    PyObject *seq = PySequence_Fast(names, "copyreg._slotnames() must return a list");
    if (!seq)
        goto done;
    e = 0;
    for (Py_ssize_t i = 0; e == 0 && i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *name = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *value = PyObject_GetAttr(self, name);
        if (!value) {
            if (PyErr_ExceptionMatches(PyExc_AttributeError))
                PyErr_Clear(); /* an unset slot is left out */
            else
                e = -1;
            continue;
        }
        e = PyDict_SetItem(state, name, value);
        Py_DECREF(value);
    }
    Py_DECREF(seq);
done:
    Py_XDECREF(copyreg);
    Py_XDECREF(names);
    return e;
}

static PyObject *Value_reduce_ex(ValueObject *self, PyObject *protocol)
{
    long proto = PyLong_AsLong(protocol);
    if (proto == -1 && PyErr_Occurred())
        return NULL;
    if (proto < 2) { /* what copyreg says of engine.py's Value, a class with __slots__ */
        PyErr_SetString(PyExc_TypeError, "a class that defines __slots__ without defining "
                                         "__getstate__ cannot be pickled");
        return NULL;
    }
    /* (an unset field is left out, as object.__getstate__ leaves out an empty slot) */
    unsigned int unset = self->flags;
    /* Every field is taken, with a reference of its own, before anything that can run code or
     * the collector (whose finalizers may change this node and free what it held): boxing a
     * float runs neither. `dot`'s array of derivatives becomes engine.py's tuple after that,
     * from the array held here. None derivatives box as None (see slot_get). */
    Num da = slot_copy(self, DA);
    PyObject *items[7][2] = {
        {STR_DATA, num_box(slot_get(self, DATA))},
        {STR_GRAD, num_box(slot_get(self, GRAD))},
        {STR_OP, self->op ? self->op : EMPTY},
        {STR_A, self->a ? self->a : Py_None},
        {STR_B, self->b ? self->b : Py_None},
        {STR_DA, NULL},
        {STR_DB, num_box(slot_get(self, DB))},
    };
    Py_INCREF(items[2][1]);
    Py_INCREF(items[3][1]);
    Py_INCREF(items[4][1]);
    items[5][1] = da.o && Py_TYPE(da.o) == &DerivativesType
                      ? derivatives_tuple((DerivativesObject *)da.o)
                      : num_box(da);
    num_release(da);
    PyObject *copyreg = NULL, *newobj = NULL, *slots = NULL, *dict = NULL, *r = NULL;
    int e = 0;
    for (int i = 0; i < 7; i++)
        if (!items[i][1])
            e = -1; /* no memory: the error is set */
    if (e == 0 && (!(copyreg = PyImport_ImportModule("copyreg")) ||
                   !(newobj = PyObject_GetAttrString(copyreg, "__newobj__")) ||
                   !(slots = PyDict_New())))
        e = -1;
    /* a subclass's own slots first, in the order engine.py's state has them */
    if (e == 0 && Py_TYPE(self) != &ValueType && subclass_slots((PyObject *)self, slots) < 0)
        e = -1;
    for (int i = 0; i < 7; i++) {
        int skip = (unset & (i == 0   ? UNSET_DATA
                             : i == 1 ? UNSET_GRAD
                             : i == 2 ? UNSET_OP
                                      : UNSET_LINKS)) != 0;
        if (e == 0 && (!items[i][1] || (!skip && PyDict_SetItem(slots, items[i][0], items[i][1]) < 0)))
            e = -1;
        Py_XDECREF(items[i][1]);
    }
    if (e < 0)
        goto done;
    if (self->dict && PyDict_GET_SIZE(self->dict)) {
        PyObject *own = self->dict; /* held: the copy allocates */
        Py_INCREF(own);
        dict = PyDict_Copy(own);
        Py_DECREF(own);
    }
    else {
        dict = Py_None;
        Py_INCREF(dict);
    }
    if (dict)
        r = Py_BuildValue("(O(O)(OO))", newobj, (PyObject *)Py_TYPE(self), dict, slots);
done:
    Py_XDECREF(copyreg);
    Py_XDECREF(newobj);
    Py_XDECREF(slots);
    Py_XDECREF(dict);
    return r;
}

static int bad_state(const char *what)
{
    PyErr_Format(PyExc_TypeError, "Value.__setstate__: %s", what);
    return -1;
}

/* A derivative from a saved state: anything engine.py's arithmetic made (a number of any
 * type, even one a user's assignment put into `data`), but not None where backward() needs a
 * number. 1, or 0 with the TypeError naming `what`. */
static int state_number(PyObject *x, const char *what)
{
    if (x != Py_None)
        return 1;
    PyErr_Format(PyExc_TypeError, "Value.__setstate__: %s must be a number, got None", what);
    return 0;
}

/* Check the links of a node from a saved state (a pickle can be crafted): the inputs must be
 * Values, and what engine.py's backward() reads must be there and not None (the compiled node
 * would otherwise read a missing derivative as 0.0). `a`, `b`: None when absent; `da`, `db`:
 * NULL when absent. 0, or -1. */
static int check_links(PyObject *a, PyObject *b, PyObject *da, PyObject *db)
{
    if (a == Py_None)
        return 0; /* a leaf: nothing else is read */
    if (PyTuple_CheckExact(a)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(a); i++)
            if (!Value_Check(PyTuple_GET_ITEM(a, i)))
                return bad_state("_a must hold Values");
        if (b != Py_None)
            return bad_state("a node with a tuple of inputs has no _b");
        if (!da)
            return bad_state("_da is missing");
        if (da == Py_None)
            return 0; /* inputs with no derivatives: a node made by user code */
        if (!PyTuple_CheckExact(da) || PyTuple_GET_SIZE(da) != PyTuple_GET_SIZE(a))
            return bad_state("_da must be a tuple with one derivative per input in _a");
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(da); i++)
            if (!state_number(PyTuple_GET_ITEM(da, i), "each of _da"))
                return -1;
        return 0;
    }
    if (!Value_Check(a))
        return bad_state("_a must be None, a Value or a tuple of Values");
    if (!da)
        return bad_state("_da is missing");
    if (da == Py_None)
        return 0; /* as above: backward() reads no derivative */
    if (!state_number(da, "_da"))
        return -1;
    if (b == Py_None)
        return 0;
    if (!Value_Check(b)) { /* a constant: a number as an operand must be */
        PyObject *checked = check_number(b);
        if (!checked)
            return -1;
        Py_DECREF(checked);
    }
    if (!db || db == Py_None)
        return bad_state("_db must be a number when _b is an input and _da a number");
    return state_number(db, "_db") ? 0 : -1;
}

/* The links of a node from a saved state, checked by check_links. */
static int set_links(ValueObject *self, PyObject *a, PyObject *b, PyObject *da, PyObject *db)
{
    if (a == Py_None)
        a = NULL;
    if (b == Py_None || !a)
        b = NULL;
    PyObject *constant = NULL;
    if (b && !Value_Check(b) && !(b = constant = check_number(b)))
        return -1;
    if (!constant)
        Py_XINCREF(b);
    Py_XINCREF(a);
    PyObject *old_a = self->a, *old_b = self->b;
    self->flags &= ~UNSET_LINKS;
    self->a = a;
    self->b = b;
    if (a && da && da != Py_None) {
        Py_INCREF(da);
        slot_set(self, DA, num_from_object(da));
    }
    else
        slot_set_none(self, DA);
    if (b && db && db != Py_None) {
        Py_INCREF(db);
        slot_set(self, DB, num_from_object(db));
    }
    else
        slot_set_none(self, DB);
    Py_XDECREF(old_a);
    Py_XDECREF(old_b);
    return 0;
}

static PyObject *restore(ValueObject *self, PyObject *dict, PyObject *slots);

static PyObject *Value_setstate(ValueObject *self, PyObject *state)
{
    if (!PyTuple_Check(state) || PyTuple_GET_SIZE(state) != 2)
        return bad_state("expected a (dict, slots) pair") ? NULL : NULL;
    PyObject *dict = PyTuple_GET_ITEM(state, 0), *slots = PyTuple_GET_ITEM(state, 1);
    if ((dict != Py_None && !PyDict_Check(dict)) || (slots != Py_None && !PyDict_Check(slots)))
        return bad_state("expected a (dict, slots) pair") ? NULL : NULL;
    start_tracking(); /* links made after birth: they could form a cycle */
    /* copies: setting an attribute runs code that could change the dicts being read */
    dict = dict == Py_None ? NULL : PyDict_Copy(dict);
    slots = slots == Py_None ? NULL : PyDict_Copy(slots);
    PyObject *r = PyErr_Occurred() ? NULL : restore(self, dict, slots);
    Py_XDECREF(dict);
    Py_XDECREF(slots);
    return r;
}

/* Set the state: everything checked first, so that a refused state changes nothing. */
static PyObject *restore(ValueObject *self, PyObject *dict, PyObject *slots)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    PyObject *a = NULL, *b = NULL, *da = NULL, *db = NULL;
    if (slots) {
        while (PyDict_Next(slots, &pos, &key, &value)) {
            if (!PyUnicode_Check(key))
                continue; /* refused by the setattr below */
            if (PyUnicode_Compare(key, STR_A) == 0)
                a = value;
            else if (PyUnicode_Compare(key, STR_B) == 0)
                b = value;
            else if (PyUnicode_Compare(key, STR_DA) == 0)
                da = value;
            else if (PyUnicode_Compare(key, STR_DB) == 0)
                db = value;
        }
        if (check_links(a ? a : Py_None, b ? b : Py_None, da, db) < 0)
            return NULL;
    }
    pos = 0;
    if (dict)
        while (PyDict_Next(dict, &pos, &key, &value))
            if (PyObject_SetAttr((PyObject *)self, key, value) < 0)
                return NULL;
    if (!slots)
        Py_RETURN_NONE;
    pos = 0;
    while (PyDict_Next(slots, &pos, &key, &value)) {
        if (PyUnicode_Check(key) &&
            (PyUnicode_Compare(key, STR_A) == 0 || PyUnicode_Compare(key, STR_B) == 0 ||
             PyUnicode_Compare(key, STR_DA) == 0 || PyUnicode_Compare(key, STR_DB) == 0))
            continue; /* the links: set together below */
        if (PyObject_SetAttr((PyObject *)self, key, value) < 0)
            return NULL;
    }
    if ((a || b || da || db) && set_links(self, a ? a : Py_None, b ? b : Py_None, da, db) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------------------------
 * The type
 */

/* The docstrings and signatures are engine.py's (a test compares them): the first lines, up to
 * "--", are the signature that inspect.signature() and help() read (`__text_signature__`). */

#define SIG(text) text "\n--\n\n"

PyDoc_STRVAR(relu_doc, SIG("relu($self, /)")
             "max(0, x) as a new node; its gradient is 1 where x > 0, else 0.");
PyDoc_STRVAR(tanh_doc, SIG("tanh($self, /)")
             "The hyperbolic tangent as a new node, by the lecture's formula "
             "(exp(2x)-1)/(exp(2x)+1);\nits gradient is 1 - tanh(x)**2.");
PyDoc_STRVAR(sigmoid_doc, SIG("sigmoid($self, /)")
             "The logistic function 1 / (1 + exp(-x)) as a new node, computed without overflow "
             "for\nany x; its gradient is s * (1 - s).");
PyDoc_STRVAR(exp_doc, SIG("exp($self, /)")
             "e**x as a new node (a ValueError if too large for a float); its gradient is e**x.");
PyDoc_STRVAR(log_doc, SIG("log($self, /)")
             "The natural logarithm as a new node (a ValueError unless x > 0); its gradient is "
             "1/x.");
PyDoc_STRVAR(backward_doc, SIG("backward($self, /)")
             "Compute d self / d node for every node this Value depends on, into `node.grad`."
             "\n\nAs in PyTorch, gradients of leaves (Values made by the user) accumulate over "
             "calls, while\nevery interior node's grad is recomputed: call `zero_grad()` (or "
             "set `p.grad = 0`)\nbetween steps.");
PyDoc_STRVAR(_backward_doc, SIG("_backward($self, /)")
             "Apply the chain rule at this node: add (local derivative * this node's grad) into"
             "\neach input's grad. User code may assign its own `_backward` to a node; "
             "`backward()`\ncalls that one instead.");
PyDoc_STRVAR(draw_dot_doc, SIG("draw_dot($self, /, **kwargs)")
             "Draw the graph that computed this Value (`micrograd.viz.draw_dot`; needs "
             "graphviz).");
PyDoc_STRVAR(Value_doc,
             SIG("Value(data, _children=(), _op='', label='', *, _prev=None)")
             "A scalar value and its gradient; a node of the computation graph.");

static PyMethodDef Value_methods[] = {
    {"relu", (PyCFunction)Value_relu, METH_NOARGS, relu_doc},
    {"tanh", (PyCFunction)Value_tanh, METH_NOARGS, tanh_doc},
    {"sigmoid", (PyCFunction)Value_sigmoid, METH_NOARGS, sigmoid_doc},
    {"exp", (PyCFunction)Value_exp, METH_NOARGS, exp_doc},
    {"log", (PyCFunction)Value_log, METH_NOARGS, log_doc},
    {"_pow_value", (PyCFunction)Value__pow_value, METH_O, NULL},
    {"_constant_as_value", (PyCFunction)Value__constant_as_value, METH_NOARGS, NULL},
    {"_backward", (PyCFunction)Value__backward, METH_NOARGS, _backward_doc},
    {"backward", (PyCFunction)Value_backward, METH_NOARGS, backward_doc},
    {"_topological_order", (PyCFunction)Value__topological_order, METH_NOARGS, NULL},
    {"draw_dot", (PyCFunction)(void (*)(void))Value_draw_dot, METH_VARARGS | METH_KEYWORDS,
     draw_dot_doc},
    {"__rpow__", (PyCFunction)(void (*)(void))Value_rpow_method,
     METH_FASTCALL | METH_KEYWORDS | METH_COEXIST, SIG("__rpow__($self, /, other)")},
    {"__reduce_ex__", (PyCFunction)Value_reduce_ex, METH_O, NULL},
    {"__setstate__", (PyCFunction)Value_setstate, METH_O, NULL},
    {NULL},
};

static PyGetSetDef Value_getset[] = {
    {"data", (getter)Value_get_data, (setter)Value_set_data, NULL, NULL},
    {"grad", (getter)Value_get_grad, (setter)Value_set_grad, NULL, NULL},
    {"_op", (getter)Value_get_op, (setter)Value_set_op, NULL, NULL},
    {"_prev", (getter)Value_get_prev, (setter)Value_set_prev, NULL, NULL},
    {"__dict__", Value_get_dict, Value_set_dict, NULL, NULL},
    {NULL},
};

static PyMemberDef Value_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(ValueObject, dict), READONLY, NULL},
    {NULL},
};

static PyType_Slot Value_slots[] = {
    {Py_tp_doc, (void *)Value_doc},
    {Py_tp_new, Value_new},
    {Py_tp_init, Value_init},
    {Py_tp_dealloc, Value_dealloc},
    {Py_tp_traverse, Value_traverse},
    {Py_tp_clear, Value_clear},
    {Py_tp_repr, Value_repr},
    {Py_tp_setattro, Value_setattro},
    {Py_tp_methods, Value_methods},
    {Py_tp_getset, Value_getset},
    {Py_tp_members, Value_members},
    {Py_nb_add, nb_add},
    {Py_nb_subtract, nb_subtract},
    {Py_nb_multiply, nb_multiply},
    {Py_nb_true_divide, nb_true_divide},
    {Py_nb_power, nb_power},
    {Py_nb_negative, Value_neg},
    {0, NULL},
};

#ifndef Py_TPFLAGS_IMMUTABLETYPE /* Python < 3.10 */
#define Py_TPFLAGS_IMMUTABLETYPE 0
#endif

static PyType_Spec Value_spec = {
    .name = "micrograd.engine.Value", /* __module__ and __name__ (see ValueTypeRef) */
    .basicsize = sizeof(ValueObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Value_slots,
};

/* ---------------------------------------------------------------------------------------------
 * The module
 */

static PyObject *engine_live_values(PyObject *m, PyObject *unused)
{
    return PyLong_FromSsize_t(live_values);
}

static PyObject *engine_tracking(PyObject *m, PyObject *unused)
{
    return PyBool_FromLong(tracking);
}

static PyMethodDef module_methods[] = {
    {"dot", (PyCFunction)(void (*)(void))engine_dot, METH_FASTCALL | METH_KEYWORDS,
     "`bias + weights[0]*inputs[0] + ...` as one graph node (see micrograd/engine.py)."},
    {"live_values", engine_live_values, METH_NOARGS,
     "How many compiled Values are alive (the collector cannot count untracked ones)."},
    {"tracking", engine_tracking, METH_NOARGS,
     "True once Values are tracked by the cyclic garbage collector (see the C file's header)."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "micrograd._cengine",
    .m_doc = "The compiled scalar engine: micrograd/engine.py's Value and dot, in C.",
    .m_size = -1,
    .m_methods = module_methods,
};

static int intern(PyObject **slot, const char *text)
{
    *slot = PyUnicode_InternFromString(text);
    return *slot ? 0 : -1;
}

PyMODINIT_FUNC PyInit__cengine(void)
{
    struct {
        PyObject **slot;
        const char *text;
    } strings[] = {
        {&EMPTY, ""},           {&OP_ADD, "+"},          {&OP_MUL, "*"},
        {&OP_POW, "**"},        {&OP_RELU, "ReLU"},      {&OP_TANH, "tanh"},
        {&OP_SIGMOID, "sigmoid"}, {&OP_EXP, "exp"},      {&OP_LOG, "log"},
        {&OP_DOT, "dot"},       {&OP_POW_MINUS_ONE, "**-1"}, {&OP_POW_TWO, "**2"},
        {&NAME_ADD, "x + y"},   {&NAME_MUL, "x * y"},    {&NAME_TANH, "tanh"},
        {&NAME_SIGMOID, "sigmoid"}, {&NAME_EXP, "exp"},  {&NAME_DOT, "dot"},
        {&STR_RPOW, "__rpow__"},      {&STR_BACKWARD, "_backward"}, {&STR_DATA, "data"}, {&STR_GRAD, "grad"},
        {&STR_OP, "_op"},       {&STR_A, "_a"},          {&STR_B, "_b"},
        {&STR_DA, "_da"},       {&STR_DB, "_db"},
    };
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        if (intern(strings[i].slot, strings[i].text) < 0)
            return NULL;
    if (!(ZERO = PyLong_FromLong(0)) || !(ONE = PyLong_FromLong(1)) ||
        !(MINUS_ONE = PyLong_FromLong(-1)) || !(TWO = PyLong_FromLong(2)))
        return NULL;
    PyObject *numbers = PyImport_ImportModule("numbers"), *math = PyImport_ImportModule("math");
    if (!numbers || !math)
        return NULL;
    NUMBERS_REAL = PyObject_GetAttrString(numbers, "Real");
    MATH_LOG = PyObject_GetAttrString(math, "log");
    Py_DECREF(numbers);
    Py_DECREF(math);
    if (!NUMBERS_REAL || !MATH_LOG)
        return NULL;
    if (!(ValueTypeRef = (PyTypeObject *)PyType_FromSpec(&Value_spec)) ||
        PyType_Ready(&DerivativesType) < 0)
        return NULL;
    ValueTypeRef->tp_vectorcall = Value_vectorcall;
    /* The name the interpreter's messages print, as for a Python class (see ValueTypeRef);
     * __module__ was set from the spec's dotted name. */
    ValueTypeRef->tp_name = "Value";
    /* `label` is a class attribute that an instance may shadow, as in engine.py */
    if (PyDict_SetItemString(ValueType.tp_dict, "label", EMPTY) < 0)
        return NULL;
    PyType_Modified(&ValueType);
    BACKWARD_DESCR = PyDict_GetItemWithError(ValueType.tp_dict, STR_BACKWARD);
    if (!BACKWARD_DESCR)
        return NULL;
    Py_INCREF(BACKWARD_DESCR);
    if (!(RPOW_DESCR = PyDict_GetItemWithError(ValueType.tp_dict, STR_RPOW)))
        return NULL;
    Py_INCREF(RPOW_DESCR);
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    Py_INCREF(&ValueType);
    if (PyModule_AddObject(m, "Value", (PyObject *)&ValueType) < 0) {
        Py_DECREF(&ValueType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
