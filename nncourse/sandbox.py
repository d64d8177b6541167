"""The one place where a grading kernel is launched: a command prefix around its argv.

Today the prefix applies the memory and CPU limits of ``course_config`` (``limits.py``).
Issue #5 (bubblewrap) only has to change ``kernel_command_prefix``.
"""
import os
import sys

from jupyter_client.manager import AsyncKernelManager

# environment of every grading kernel: one BLAS thread (same floating-point results whatever
# --jobs is, and N jobs use N cores), no GUI backend for matplotlib
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}

_PREFIX = []   # set by configure_sandbox() in the grading process


def kernel_command_prefix(course):
    """The argv prefix that wraps a grading kernel of ``course``."""
    return [sys.executable, "-m", "nncourse.limits",
            "--as-mib", str(course.setting("KERNEL_MEMORY_MIB", 0)),
            "--cpu-s", str(course.setting("KERNEL_CPU_S", 0)), "--"]


def configure_sandbox(course):
    """Make kernels started by this process sandboxed and give them the grading env."""
    _PREFIX[:] = kernel_command_prefix(course)
    threads = str(course.setting("KERNEL_THREADS", 1))
    for key, value in KERNEL_ENV.items():
        os.environ[key] = threads if key.endswith("_NUM_THREADS") else value


class SandboxedKernelManager(AsyncKernelManager):
    """AsyncKernelManager whose kernel command carries the sandbox prefix."""

    def format_kernel_cmd(self, extra_arguments=None):
        return list(_PREFIX) + super().format_kernel_cmd(extra_arguments)
