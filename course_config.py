"""Course settings: the one place an instructor edits.

Every key is a plain literal with a comment.  ``nbgrader_config.py`` (two lines) hands
these settings to nbgrader, so stock ``nbgrader`` commands run in this directory use
exactly what ``nncourse`` uses.
"""
import os
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent

# --- the course -------------------------------------------------------------------------
COURSE_ID = "nn-learning-course"          # nbgrader course id (also the gradebook's course)
ASSIGNMENTS = [                           # assignment ids, in the lecture's order
    "a1_loss",                            # 損失関数: SSE, cross-entropy, batch version
    "a2_gradient",                        # 数値微分, 偏微分, 勾配
    "a3_gradient_descent",                # 勾配法, SimpleNet's gradient
    "a4_two_layer_net",                   # TwoLayerNet and mini-batch training on MNIST
]

# --- the gradebook (scores; nncourse, stock nbgrader commands and formgrader all use it) --
GRADEBOOK_URL = os.environ.get(          # an SQLAlchemy URL; "" = the SQLite file gradebook.db
    "NNCOURSE_GRADEBOOK_URL", "")        # in this directory.  Write the URL here (a string) or
                                         # set NNCOURSE_GRADEBOOK_URL.  PostgreSQL (psycopg 3):
                                         # "postgresql+psycopg://USER[:PASSWORD]@HOST:PORT/DB";
                                         # the database must exist, nbgrader makes its tables.
                                         # Copies made by nncourse (validate, demo) keep their
                                         # own gradebook.db, never this database.

# --- where grading runs (README, "Grading on Dask") --------------------------------------
DASK_SCHEDULER = os.environ.get(         # "" = processes on this machine (`-j N`); else the
    "NNCOURSE_DASK_SCHEDULER", "")       # address of a Dask scheduler, "tcp://HOST:8786", whose
                                         # workers run `dask worker ADDRESS --nthreads 1` on
                                         # machines with this project installed

# --- execution limits while grading ----------------------------------------------------
CELL_TIMEOUT_S = 120                      # one cell may run this long before it is stopped
NOTEBOOK_TIMEOUT_S = 600                  # one notebook (all cells) may run this long
SLOW_CHECK_S = 30                         # a hidden check whose calls into the kernel take longer
                                          # flags the submission (report's 要確認): a function slow
                                          # only when the grader calls it stretches grading
KERNEL_MEMORY_MIB = 3072                  # address-space limit of a grading kernel (MiB)
KERNEL_CPU_S = 900                        # CPU-time limit of a grading kernel (seconds)
MAX_OUTPUT_CHARS = 10_000                 # longest output kept per cell (nbgrader LimitOutput);
                                          # while a cell runs, output beyond 10x this is dropped
                                          # as it arrives, in the kernel and in the grader, with a note
MAX_NOTEBOOK_OUTPUT_CHARS = 1_000_000     # all outputs of one graded notebook (cells' output and
                                          # errors, the checks' messages): beyond, dropped with a
                                          # note; bounds each student's autograded notebook and
                                          # feedback page (the notebook as submitted + this)
MAX_CHECK_MESSAGE_CHARS = 2_000           # one failed test's message (got / expected / hint): cut
MAX_REPLY_BYTES = 16 * 2**20              # one answer of a kernel to the grader's calls: a value
                                          # that would take it over (a huge array or string where
                                          # a number is expected) fails that test unread
KERNEL_THREADS = 1                        # BLAS threads per grading kernel: same results for any --jobs
KERNEL_MAX_PROCESSES = 128                # processes+threads of one kernel's host uid (RLIMIT_NPROC)
KERNEL_MAX_FILE_MIB = 64                  # largest file a grading kernel may write (RLIMIT_FSIZE, MiB)
KERNEL_MAX_OPEN_FILES = 1024              # open file descriptors of a grading kernel (RLIMIT_NOFILE)
KERNEL_TMPFS_MIB = 256                    # size of the kernel's /tmp and of its working copy (tmpfs, MiB each)
SANDBOX_UID = 2_000_000                   # when grading runs as root, each grading process's kernels run as
SANDBOX_UIDS = 256                        #   a host uid of their own from SANDBOX_UID .. SANDBOX_UID+SANDBOX_UIDS-1
SANDBOX_GID = 65534                       #   and gid SANDBOX_GID (65534 = nogroup); unused when not root
TRAINING_ASSIGNMENT = "a4_two_layer_net"  # its final accuracies are checked by `nncourse validate`

# --- what the grader reads of a submission (nncourse/core/submission.py) ---------------
# checked with lstat before any byte is read; links and special files are never followed
NOTEBOOK_MAX_BYTES = 20 * 2**20           # a notebook larger than this is not graded (refused unread)
SUBMISSION_MAX_BYTES = 50 * 2**20         # all files of one submission: files beside the notebook
SUBMISSION_MAX_FILES = 200                #   beyond these two caps are left out, with a note

# --- collecting submissions ---------------------------------------------------------------
# file names in an LMS export: <student>_[attempt_<timestamp>_]<notebook>.ipynb (nbgrader zip_collect)
COLLECT_REGEXP = (r".*/(?P<student_id>[A-Za-z0-9.\-]+)_(?:attempt_(?P<timestamp>[0-9\-]+)_)?"
                  r"(?P<file_id>[^/]+\.ipynb)$")
COLLECT_STUDENT_ID = r"^(?=[^0-9]*[0-9])[A-Za-z0-9][A-Za-z0-9.\-]*$"  # what a student id looks
                                          # like in those names and folders without --roster
                                          # (letters, digits, . -, at least one digit); with
                                          # --roster only the roster's ids are taken
# limits on what collect reads from one download (a zip bomb or a huge folder is refused,
# file by file; a download over COLLECT_MAX_MEMBERS is refused whole)
COLLECT_MAX_MEMBERS = 10_000              # files in the download, those in zips inside it included
COLLECT_MAX_BYTES = 2 * 1024**3           # bytes read out of the download, all files together
COLLECT_MAX_FILE_BYTES = 100 * 1024**2    # bytes of one file as unpacked (a notebook, a student's zip)
COLLECT_MAX_RATIO = 200                   # unpacked/packed size of one zip entry over 1 MiB
COLLECT_MAX_DEPTH = 1                     # zips inside the download that are opened: 1 = a
                                          # student's own zip; 0 = none; its zips are not

# --- deadlines and late penalties (nncourse/lms/deadlines.py) ----------------------------
DUE_DATES = {}                            # assignment -> due date, ISO 8601 with offset, e.g.
                                          # {"a1_loss": "2026-05-08T23:59:00+09:00"}; none = no deadline
EXTENSIONS = {}                           # assignment -> {student id: extended due date (ISO 8601)}
EXTENSIONS_CSV = ""                       # or a CSV student_id,assignment,due (relative path); "" = none
LATE_PENALTY = {                          # applied to the exported grade, shown in report and feedback
    "policy": "per_day",                  # "none" | "zero" (late = 0) | "per_day"
    "percent_per_day": 10,                # per started day (24 h) after the due date
    "floor_percent": 50,                  # the grade keeps at least this % of the score
    "grace_minutes": 0,                   # minutes after the due date still on time
}
LATE_WITHOUT_TIME_DAYS = 1                # days counted when the LMS says "late" without a time (Canvas)
LMS_TIMEZONE = "Asia/Tokyo"               # time zone of LMS times written without an offset

# --- LMS round trip (nncourse collect/export; nncourse/lms/) -----------------------------
LMS_ASSIGNMENTS = {}                      # assignment -> {"title": LMS name, "canvas_id": Canvas
                                          # assignment id, "points": LMS maximum grade}; points
                                          # default to the notebook's maximum score
MOODLE_WORKSHEET_HEADERS = {}             # English worksheet header -> your Moodle language's header

# --- LTI 1.3 tool (nncourse lti; nncourse/lti/): copy these from the platform's registration
LTI_ISSUER = ""                           # the platform's issuer, e.g. "https://moodle.example.ac.jp"
LTI_CLIENT_ID = ""                        # the client id the platform gave this tool
LTI_DEPLOYMENT_IDS = []                   # the deployment id(s) of this tool on the platform
LTI_AUTH_LOGIN_URL = ""                   # platform's OIDC authentication URL (Moodle: .../mod/lti/auth.php)
LTI_AUTH_TOKEN_URL = ""                   # platform's access token URL (Moodle: .../mod/lti/token.php)
LTI_AUTH_AUDIENCE = ""                    # audience of token requests; "" = the token URL
LTI_KEY_SET_URL = ""                      # platform's public keyset URL (Moodle: .../mod/lti/certs.php)
LTI_TOOL_URL = ""                         # this tool's public base URL; "" = http://HOST:PORT of `lti serve`
LTI_KEYS_DIR = "lti_keys"                 # the tool's key pair (`nncourse lti keys`; git-ignored)
LTI_STATE_MAX_ENTRIES = 20000             # launch states/nonces/launches kept in lti/launches.json

# --- similarity between submissions (nncourse/lms/similarity.py, copydetect) -------------
SIMILARITY_THRESHOLD = 0.6                # report pairs sharing at least this share of solution code
SIMILARITY_COMMON_FRACTION = 0.5          # passages in more than this share of submissions are ignored

# --- data -------------------------------------------------------------------------------
MNIST_DIR = os.environ.get("NNCOURSE_MNIST_DIR", "")   # folder with the 4 IDX .gz files, "" = none
MNIST_CACHE_DIR = os.environ.get(                      # verified .npy cache (fast loading)
    "NNCOURSE_MNIST_CACHE", str(Path.home() / ".cache" / "nn-learning-course" / "mnist"))

# --- what `nncourse validate` and a4's hidden checks require of training -----------------
MIN_TEST_ACCURACY = 0.94                  # the lecture's final test accuracy (0.9462) rounded down
MAX_TRAIN_TEST_GAP = 0.02                 # |train acc - test acc| after the last epoch


def configure_nbgrader(c):
    """Apply these settings to an nbgrader/traitlets config object ``c``."""
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.root = str(COURSE_ROOT)
    if GRADEBOOK_URL:                 # else nbgrader's default, <root>/gradebook.db
        c.CourseDirectory.db_url = GRADEBOOK_URL
    # the jupytext twins (*.pct.py) hold solutions: they must never reach a release
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                                "*.pct.py"]
    c.ExecutePreprocessor.timeout = CELL_TIMEOUT_S
    c.ExecutePreprocessor.interrupt_on_timeout = True
    c.LimitOutput.max_lines = 200
    # "Run All" on a fresh release stops at the first stub with this message; the grader maps
    # NotImplementedError (by its type, whatever the message) to "not implemented"
    c.ClearSolutions.code_stub = {
        "python": "# ここにコードを書いてください (YOUR CODE HERE)\n"
                  'raise NotImplementedError("まだ実装していません — ここにコードを書いてください")'}
    c.ClearSolutions.text_stub = "ここに解答を書いてください (YOUR ANSWER HERE)"
    # feedback (also formgrader's "Generate Feedback" = stock `nbgrader generate_feedback`):
    # nncourse's pages (Japanese summary, manual scores and comments, no hidden-test code,
    # MathJax for offline math from feedback/_mathjax/, inlined where a page leaves the folder)
    # instead of nbgrader's default template
    # and formgrader's pages with MathJax from the Jupyter server, not a CDN
    try:
        from nncourse.feedback import configure_feedback
        from nncourse.formgrader import configure_formgrader
    except ImportError:       # nbgrader without this project installed: nbgrader's own pages
        pass
    else:
        configure_feedback(c)
        configure_formgrader(c)
    # stock `nbgrader autograde` grades as `nncourse grade` does: hidden checks in the grader,
    # kernels in the sandbox (nncourse/kernel/)
    try:
        from nncourse.kernel.nbconfig import configure_stock_autograde
    except ImportError:
        pass
    else:
        configure_stock_autograde(c, COURSE_ROOT)
    # the grader imports this course's autograders/ and reference/ first
    path = os.environ.get("PYTHONPATH", "")
    if str(COURSE_ROOT) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(COURSE_ROOT), path) if p)
    return c
