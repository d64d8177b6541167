"""A grading kernel's main script: snapshot NumPy, then start ipykernel in this process.

``sandbox.py`` copies this file into the grading bundle and runs it instead of
``python -m ipykernel_launcher``.  It imports only the standard library and NumPy, before any
student code runs, so that ``restore_numpy()`` (called by ``execute.py`` at the top of every
test cell) can undo a student's monkeypatching of NumPy's functions (``np.allclose = ...``).
It is registered as the module ``_nncourse_boot``.
"""
import sys


def _snapshot():
    try:
        import numpy
        import numpy.testing  # noqa: F401  (the comparison helpers students might patch)
    except ImportError:
        return []
    return [(m, dict(vars(m))) for name, m in sorted(sys.modules.items())
            if m is not None and (name == "numpy" or name.startswith("numpy."))]


_SNAPSHOT = _snapshot()


def restore_numpy():
    """Put back every NumPy module attribute that was rebound since the kernel started."""
    changed = 0
    for module, attrs in _SNAPSHOT:
        current = vars(module)
        for key, value in attrs.items():
            if current.get(key, value) is not value or key not in current:
                setattr(module, key, value)
                changed += 1
    return changed


if __name__ == "__main__":
    sys.modules["_nncourse_boot"] = sys.modules["__main__"]
    if sys.path and sys.path[0] in ("", "."):
        del sys.path[0]
    from ipykernel import kernelapp
    kernelapp.launch_new_instance()
