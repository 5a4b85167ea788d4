/*
 * An empty Python module init, linked into each native library so that
 * meson-python installs it where importlib can locate it (wheel, editable
 * and source installs alike). retrotool never imports these modules; it
 * finds their files with importlib.util.find_spec and loads them with ctypes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define RH_CAT2(a, b) a##b
#define RH_CAT(a, b) RH_CAT2(a, b)
#define RH_STR2(a) #a
#define RH_STR(a) RH_STR2(a)

static struct PyModuleDef rh_module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = RH_STR(RH_MODULE_NAME),
    .m_doc = "Native library loaded by retrotool through ctypes; not for import.",
    .m_size = -1,
};

PyMODINIT_FUNC RH_CAT(PyInit_, RH_MODULE_NAME)(void) { return PyModule_Create(&rh_module); }
