/* micrograd.tensor._cattrs: `SlotAttribute`, a slot that checks what is assigned to it.
 *
 * `Tensor.data` and `Tensor.requires_grad` must run Python code when the user assigns them
 * (`w.data = torch.tensor(...)` stores the array; an integer tensor refuses
 * `requires_grad = True`), yet every operation reads them several times, on the hot path of a
 * training step. A Python property would put a Python call on every read. This descriptor reads
 * and writes a hidden slot (`_data`, `_requires_grad`) at C speed and calls the Python checker
 * only for an assignment through the public name; the engine's own code writes the hidden slot.
 *
 * micrograd/tensor/core.py has the same descriptor in pure Python (`_PySlotAttribute`), used
 * when this module is not built or MICROGRAD_PURE=1: the same behaviour, slower reads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyTypeObject *owner;   /* the class whose slot this is: only its instances are read */
    Py_ssize_t offset;     /* where the slot lives in an instance */
    PyObject *name;        /* the public name, for messages */
    PyObject *checker;     /* checker(instance, value) -> the value to store, or raises */
    int same_is_stored;    /* 1: assigning the value already there stores it without a check */
} SlotAttribute;

static int
SlotAttribute_init(SlotAttribute *self, PyObject *args, PyObject *kwds)
{
    PyObject *member, *name, *checker;
    int same_is_stored = 0;
    static char *kwlist[] = {"member", "name", "checker", "same_is_stored", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OUO|p:SlotAttribute", kwlist, &member, &name,
                                     &checker, &same_is_stored))
        return -1;
    if (!PyObject_TypeCheck(member, &PyMemberDescr_Type)) {
        PyErr_SetString(PyExc_TypeError, "SlotAttribute: member must be a slot's descriptor");
        return -1;
    }
    PyMemberDef *def = ((PyMemberDescrObject *)member)->d_member;
    if (def->type != T_OBJECT_EX || (def->flags & READONLY)) {
        PyErr_SetString(PyExc_TypeError, "SlotAttribute: member must be a writable object slot");
        return -1;
    }
    if (!PyCallable_Check(checker)) {
        PyErr_SetString(PyExc_TypeError, "SlotAttribute: checker must be callable");
        return -1;
    }
    PyTypeObject *owner = ((PyDescrObject *)member)->d_type;
    Py_INCREF(owner);
    Py_XSETREF(self->owner, owner);
    self->offset = def->offset;
    Py_INCREF(name);
    Py_XSETREF(self->name, name);
    Py_INCREF(checker);
    Py_XSETREF(self->checker, checker);
    self->same_is_stored = same_is_stored;
    return 0;
}

static void
SlotAttribute_dealloc(SlotAttribute *self)
{
    Py_XDECREF(self->owner);
    Py_XDECREF(self->name);
    Py_XDECREF(self->checker);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The slot's address in `obj`, or NULL (with an exception) if obj is not an owner instance. */
static PyObject **
slot_address(SlotAttribute *self, PyObject *obj)
{
    if (self->owner == NULL) {
        PyErr_SetString(PyExc_TypeError, "SlotAttribute: not initialised");
        return NULL;
    }
    if (!PyObject_TypeCheck(obj, self->owner)) {
        PyErr_Format(PyExc_TypeError, "descriptor '%U' is for '%s' objects, not '%s'",
                     self->name, self->owner->tp_name, Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return (PyObject **)((char *)obj + self->offset);
}

static PyObject *
SlotAttribute_get(SlotAttribute *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None) {
        Py_INCREF(self);
        return (PyObject *)self;
    }
    PyObject **address = slot_address(self, obj);
    if (address == NULL)
        return NULL;
    PyObject *value = *address;
    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "'%s' object has no attribute '%U'",
                     Py_TYPE(obj)->tp_name, self->name);
        return NULL;
    }
    Py_INCREF(value);
    return value;
}

static int
SlotAttribute_set(SlotAttribute *self, PyObject *obj, PyObject *value)
{
    PyObject **address = slot_address(self, obj);
    if (address == NULL)
        return -1;
    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "cannot delete attribute '%U'", self->name);
        return -1;
    }
    if (self->same_is_stored && value == *address)
        return 0; /* `p.data += x`: numpy's in-place add hands back the array already there */
    PyObject *stored = PyObject_CallFunctionObjArgs(self->checker, obj, value, NULL);
    if (stored == NULL)
        return -1;
    PyObject *old = *address;
    *address = stored;
    Py_XDECREF(old);
    return 0;
}

static PyObject *
SlotAttribute_repr(SlotAttribute *self)
{
    return PyUnicode_FromFormat("<attribute '%U' of '%s' objects>", self->name,
                                self->owner ? self->owner->tp_name : "?");
}

static PyTypeObject SlotAttribute_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "micrograd.tensor._cattrs.SlotAttribute",
    .tp_basicsize = sizeof(SlotAttribute),
    .tp_dealloc = (destructor)SlotAttribute_dealloc,
    .tp_repr = (reprfunc)SlotAttribute_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "SlotAttribute(member, name, checker, same_is_stored=False): reads the slot "
              "`member` of its class at C speed; an assignment stores checker(obj, value).",
    .tp_descr_get = (descrgetfunc)SlotAttribute_get,
    .tp_descr_set = (descrsetfunc)SlotAttribute_set,
    .tp_init = (initproc)SlotAttribute_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef cattrs_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "micrograd.tensor._cattrs",
    .m_doc = "A checking slot descriptor for micrograd.tensor's Tensor (see _cattrs.c).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__cattrs(void)
{
    if (PyType_Ready(&SlotAttribute_Type) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&cattrs_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&SlotAttribute_Type);
    if (PyModule_AddObject(module, "SlotAttribute", (PyObject *)&SlotAttribute_Type) < 0) {
        Py_DECREF(&SlotAttribute_Type);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
