"""The course settings: every key of ``course_config.py`` with its default, type and meaning,
written once.  ``Course.setting(name)`` reads a value through this schema (the default when
the course leaves the key out; a clear ``CourseError`` when the value has the wrong type);
``unknown(settings)`` names the keys of a course_config.py that nncourse does not know, so a
misspelt limit is reported rather than silently ignored."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

MIB = 2 ** 20


class SettingError(ValueError):
    """A setting's value has the wrong type or range; the message says which and how to fix."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    kind: str          # see KINDS
    meaning: str


def _whole(v, low):
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


KINDS = {   # kind -> (test of a value, what the value must be)
    "count": (lambda v: _whole(v, 0), "a whole number >= 0"),
    "positive": (lambda v: _whole(v, 1), "a whole number >= 1"),
    "seconds": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0,
                "a number of seconds > 0"),
    "fraction": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1,
                 "a number from 0 to 1"),
    "optional fraction": (lambda v: v is None or isinstance(v, (int, float))
                          and not isinstance(v, bool) and 0 <= v <= 1,
                          "None or a number from 0 to 1"),
    "text": (lambda v: isinstance(v, str), "a string"),
    "path": (lambda v: isinstance(v, (str, Path)), "a path (a string, \"\" for none)"),
    "names": (lambda v: isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v),
              "a list of strings"),
    "table": (lambda v: isinstance(v, dict), "a dict"),
    "optional table": (lambda v: v is None or isinstance(v, dict), "None or a dict"),
    "optional list": (lambda v: v is None or isinstance(v, (list, tuple)), "None or a list"),
}

REQUIRED = object()

SCHEMA = {s.name: s for s in [
    # the course
    Setting("COURSE_ID", REQUIRED, "text", "nbgrader course id (also the gradebook's course)"),
    Setting("ASSIGNMENTS", REQUIRED, "names", "assignment ids, in the lecture's order"),
    Setting("GRADEBOOK_URL", "", "text", "SQLAlchemy URL of the gradebook; \"\" = gradebook.db here"),
    Setting("DASK_SCHEDULER", "", "text", "\"\" = grade on this machine; else a Dask scheduler"),
    # execution limits while grading
    Setting("CELL_TIMEOUT_S", 120, "seconds", "one cell may run this long"),
    Setting("NOTEBOOK_TIMEOUT_S", 600, "seconds", "one notebook (all cells) may run this long"),
    Setting("SLOW_CHECK_S", 30, "seconds", "a hidden check slower than this flags the submission"),
    Setting("KERNEL_MEMORY_MIB", 0, "count", "address-space limit of a grading kernel; 0 = none"),
    Setting("KERNEL_CPU_S", 0, "count", "CPU-time limit of a grading kernel; 0 = none"),
    Setting("MAX_OUTPUT_CHARS", 10_000, "positive", "longest output kept per cell"),
    Setting("MAX_NOTEBOOK_OUTPUT_CHARS", 1_000_000, "positive",
            "all outputs of one graded notebook"),
    Setting("MAX_CHECK_MESSAGE_CHARS", 2_000, "positive", "one failed test's message"),
    Setting("MAX_REPLY_BYTES", 16 * MIB, "positive", "one answer of a kernel to the grader's calls"),
    Setting("KERNEL_THREADS", 1, "positive", "BLAS threads per grading kernel"),
    Setting("KERNEL_MAX_PROCESSES", 128, "positive", "processes+threads of one kernel (RLIMIT_NPROC)"),
    Setting("KERNEL_MAX_FILE_MIB", 64, "positive", "largest file a grading kernel may write"),
    Setting("KERNEL_MAX_OPEN_FILES", 1024, "positive", "open file descriptors of a grading kernel"),
    Setting("KERNEL_TMPFS_MIB", 256, "positive", "size of the kernel's /tmp and working copy"),
    Setting("SANDBOX_UID", 2_000_000, "positive", "first host uid of the kernels (as root)"),
    Setting("SANDBOX_UIDS", 256, "positive", "how many host uids from SANDBOX_UID"),
    Setting("SANDBOX_GID", 65534, "count", "host gid of the kernels (as root)"),
    Setting("TRAINING_ASSIGNMENT", "a4_two_layer_net", "text",
            "the assignment whose accuracies `nncourse validate` checks"),
    Setting("MIN_TEST_ACCURACY", None, "optional fraction", "lowest test accuracy validate accepts"),
    Setting("MAX_TRAIN_TEST_GAP", None, "optional fraction", "largest |train - test| accuracy"),
    Setting("DEMO_COHORT", None, "optional list", "the demo's planted mistakes (None = built in)"),
    # what the grader reads of a submission
    Setting("NOTEBOOK_MAX_BYTES", 20 * MIB, "positive", "a larger notebook is not graded"),
    Setting("SUBMISSION_MAX_BYTES", 50 * MIB, "positive", "all files of one submission"),
    Setting("SUBMISSION_MAX_FILES", 200, "positive", "files of one submission"),
    # collecting submissions
    Setting("COLLECT_REGEXP", r".*/(?P<student_id>[A-Za-z0-9.\-]+)_(?:attempt_(?P<timestamp>"
            r"[0-9\-]+)_)?(?P<file_id>[^/]+\.ipynb)$", "text", "file names in an LMS download"),
    Setting("COLLECT_STUDENT_ID", r"^(?=[^0-9]*[0-9])[A-Za-z0-9][A-Za-z0-9.\-]*$", "text",
            "what a student id looks like without --roster"),
    Setting("COLLECT_MAX_MEMBERS", 10_000, "count", "files in one download"),
    Setting("COLLECT_MAX_BYTES", 2 * 1024 * MIB, "count", "bytes read out of one download"),
    Setting("COLLECT_MAX_FILE_BYTES", 100 * MIB, "count", "bytes of one file as unpacked"),
    Setting("COLLECT_MAX_RATIO", 200, "count", "unpacked/packed size of one zip entry"),
    Setting("COLLECT_MAX_DEPTH", 1, "count", "levels of zips inside the download opened"),
    # deadlines and late penalties
    Setting("DUE_DATES", {}, "table", "assignment -> due date (ISO 8601 with offset)"),
    Setting("EXTENSIONS", {}, "table", "assignment -> {student id: extended due date}"),
    Setting("EXTENSIONS_CSV", "", "path", "CSV student_id,assignment,due; \"\" = none"),
    Setting("LATE_PENALTY", {"policy": "none"}, "table", "the late policy (see course_config.py)"),
    Setting("LATE_WITHOUT_TIME_DAYS", 1, "count", "days counted for a late without a time"),
    Setting("LMS_TIMEZONE", "Asia/Tokyo", "text", "time zone of LMS times without an offset"),
    # the LMS round trip
    Setting("LMS_ASSIGNMENTS", {}, "table", "assignment -> LMS title, Canvas id, points"),
    Setting("MOODLE_WORKSHEET_HEADERS", None, "optional table",
            "English worksheet header -> the Moodle language's header"),
    # LTI 1.3 (nncourse lti): the platform's values, copied from its tool registration
    Setting("LTI_ISSUER", "", "text", "the platform's issuer (iss), e.g. https://moodle.example.ac.jp"),
    Setting("LTI_CLIENT_ID", "", "text", "the client id the platform gave this tool"),
    Setting("LTI_DEPLOYMENT_IDS", [], "names", "deployment ids of this tool on the platform"),
    Setting("LTI_AUTH_LOGIN_URL", "", "text", "the platform's OIDC authentication URL"),
    Setting("LTI_AUTH_TOKEN_URL", "", "text", "the platform's OAuth2 access token URL"),
    Setting("LTI_AUTH_AUDIENCE", "", "text", "audience of token requests; \"\" = the token URL"),
    Setting("LTI_KEY_SET_URL", "", "text", "the platform's public keyset (JWKS) URL"),
    Setting("LTI_TOOL_URL", "", "text",
            "this tool's public base URL (https://...); \"\" = http://HOST:PORT of lti serve"),
    Setting("LTI_KEYS_DIR", "lti_keys", "path", "the tool's key pair (git-ignored; nncourse lti keys)"),
    Setting("LTI_STATE_MAX_ENTRIES", 20_000, "positive",
            "launch states, nonces and launches kept in lti/launches.json (oldest dropped first)"),
    # similarity
    Setting("SIMILARITY_THRESHOLD", 0.6, "fraction", "report pairs sharing this share of code"),
    Setting("SIMILARITY_COMMON_FRACTION", 0.5, "fraction",
            "passages in more than this share of submissions are ignored"),
    # data (also read by reference/mnist.py, which needs no nncourse)
    Setting("MNIST_DIR", "", "path", "folder with the 4 IDX .gz files; \"\" = none"),
    Setting("MNIST_CACHE_DIR", "", "path", "verified .npy cache of MNIST"),
]}

# names a course_config.py defines for its own use, not settings
OWN_NAMES = {"COURSE_ROOT"}


def value(settings: ModuleType, name: str) -> Any:
    """The value of setting ``name`` in the course's settings module, or its default; a
    ``SettingError`` that says what the value must be when it has the wrong type."""
    spec = SCHEMA[name]                  # KeyError: a name nncourse does not define (a bug)
    v = getattr(settings, name, spec.default)
    if v is REQUIRED:
        raise SettingError(f"{name} is missing from course_config.py: {spec.meaning}")
    test, must = KINDS[spec.kind]
    if not test(v):
        raise SettingError(f"{name} in course_config.py must be {must}, not {v!r} "
                           f"({spec.meaning})")
    return v


def unknown(settings: ModuleType) -> list[str]:
    """One line per upper-case name of ``settings`` that is no setting, with the nearest
    known name when there is one (a misspelt key is otherwise silently ignored)."""
    lines = []
    for name in sorted(n for n in vars(settings) if n.isupper() and not n.startswith("_")):
        if name in SCHEMA or name in OWN_NAMES:
            continue
        near = difflib.get_close_matches(name, SCHEMA, n=1)
        lines.append(f"course_config.py: {name} is not a setting nncourse knows; it is ignored"
                     + (f" (did you mean {near[0]}?)" if near else ""))
    return lines
