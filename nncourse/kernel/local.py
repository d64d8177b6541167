"""The call server in this process: hidden checks against plain Python objects.

For the checks' unit tests (``tests/checks/test_autograders_*.py``) and for trying a check by
hand: the same ``kernel_boot.Server`` and ``wire`` format as a grading kernel, with the
ZeroMQ hop replaced by a direct call.  Grading never uses this: there the server runs in
the sandboxed kernel and only plain data comes back.
"""
import types

import autograders.testfuncs as testfuncs

from . import kernel_boot, wire
from .student import Student


def local_student(namespace):
    """A ``Student`` whose names are the entries of ``namespace`` (a dict)."""
    server = kernel_boot.Server(types.SimpleNamespace(user_ns=namespace), wire, testfuncs)

    def transport(request, deadline):
        server.serve(request)
        return server.reply
    return Student(transport, deadline=float("inf"))


def remotes(**objects):
    """``Remote`` handles for the given objects, by name: ``f, = remotes(f=my_function)``."""
    student = local_student(dict(objects))
    return [student[name] for name in objects]
