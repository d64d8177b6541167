"""The one place the nbgrader configuration of a course is assembled: stock nbgrader's
(``course_config.configure_nbgrader``) plus nncourse's grading (the preprocessors of
``kernel/``), for every nbgrader converter nncourse runs (generate_assignment, autograde,
generate_feedback) and for stock ``nbgrader autograde`` in the course directory.
"""
import logging
import re
import sys

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, ClearOutput,
                                    DeduplicateIds, IgnorePattern, LimitOutput, OverwriteCells,
                                    OverwriteKernelspec, SaveAutoGrades)
from traitlets.config import Config

from ..core.course import Course
from ..core.metadata import CheckCellMetadataOnce
from .execute import BudgetedExecute, GradingNotes
from ..core.repair import RepairSubmission
from .sanitize import SanitizeSubmission
from .warm import WarmKernels


def nbgrader_config(course: Course, notes: GradingNotes | None = None,
                    warm: WarmKernels | None = None) -> Config:
    """The traitlets config of stock nbgrader (course_config) plus nncourse's grading;
    ``notes``: where the grading of this config's autograde run notes its flags; ``warm``:
    the grading process's kernels started ahead of need."""
    c = Config()
    course.settings.configure_nbgrader(c)
    course.prepare_environment()
    c.CourseDirectory.root = str(course.root)
    c.CourseDirectory.db_url = course.db_url
    grading_config(c, course)
    if notes is not None:
        c.BudgetedExecute.notes = notes
    if warm is not None:
        c.BudgetedExecute.warm = warm
    return c


def configure_stock_autograde(c, course_root):
    """For ``nbgrader_config.py``: stock ``nbgrader autograde`` in the course directory grades
    exactly as ``nncourse grade`` does (the hidden checks in the grader, the sandbox)."""
    if str(course_root) not in sys.path:        # this course's autograders/, reference/ first
        sys.path.insert(0, str(course_root))
    return grading_config(c, Course.load(course_root))


def grading_config(c, course):
    """nncourse's additions to the nbgrader config."""
    # honest mistakes (a copied cell, metadata of another nbgrader version) are repaired
    # before nbgrader's own checks see the notebook (repair.py)
    c.Autograde.sanitize_preprocessors = [
        RepairSubmission, ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
        CheckCellMetadataOnce]
    # SanitizeSubmission after SaveAutoGrades: grades (and nbgrader's "unchanged answer"
    # checksums) come from what the student wrote; what is written to autograded/ (formgrader
    # renders it, feedback is made from it) is the sanitized notebook
    c.Autograde.autograde_preprocessors = [
        BudgetedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        SaveAutoGrades, SanitizeSubmission,
        AssignLatePenalties, CheckCellMetadataOnce]
    c.BudgetedExecute.timeout = int(course.setting("CELL_TIMEOUT_S"))
    c.BudgetedExecute.notebook_timeout = int(course.setting("NOTEBOOK_TIMEOUT_S"))
    c.BudgetedExecute.slow_check = int(course.setting("SLOW_CHECK_S"))
    c.BudgetedExecute.interrupt_on_timeout = True
    c.BudgetedExecute.max_output_chars = 10 * int(course.setting("MAX_OUTPUT_CHARS"))
    c.BudgetedExecute.max_notebook_output_chars = int(course.setting("MAX_NOTEBOOK_OUTPUT_CHARS"))
    c.BudgetedExecute.max_check_message_chars = int(course.setting("MAX_CHECK_MESSAGE_CHARS"))
    c.BudgetedExecute.max_reply_bytes = int(course.setting("MAX_REPLY_BYTES"))
    c.BudgetedExecute.source_dir = str(course.root / "source")
    c.SanitizeSubmission.course_root = str(course.root)
    c.RepairSubmission.source_dir = str(course.root / "source")
    return c


class ErrorLog(logging.Handler):
    """nbgrader's error log lines; ``reason()`` is the exception line of its traceback."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines = []

    def emit(self, record):
        self.lines += record.getMessage().splitlines()

    def reason(self):
        found = [ln.strip() for ln in self.lines if re.match(r"^\s*[\w.]+(Error|Exception)\b", ln)]
        return found[-1] if found else ""
