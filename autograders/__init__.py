"""Autograders: hidden-test checks that compare a student's answer with ``reference/``.

One module per assignment (``a1_loss`` …) holds its checks; the helpers they share live in
``compare`` and every message in ``messages``.
"""
from .compare import TOLERANCES, CheckFailed, assert_close, call_student

__all__ = ["TOLERANCES", "CheckFailed", "assert_close", "call_student"]
