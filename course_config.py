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

# --- execution limits while grading ----------------------------------------------------
CELL_TIMEOUT_S = 120                      # one cell may run this long before it is stopped
NOTEBOOK_TIMEOUT_S = 600                  # one notebook (all cells) may run this long
KERNEL_MEMORY_MIB = 3072                  # address-space limit of a grading kernel (MiB)
KERNEL_CPU_S = 900                        # CPU-time limit of a grading kernel (seconds)
MAX_OUTPUT_CHARS = 10_000                 # longest output kept per cell (nbgrader LimitOutput)
KERNEL_THREADS = 1                        # BLAS threads per grading kernel: same results for any --jobs
TRAINING_ASSIGNMENT = "a4_two_layer_net"  # its final accuracies are checked by `nncourse validate`

# --- collecting submissions ---------------------------------------------------------------
# file names in an LMS export: <student>_[attempt_<timestamp>_]<notebook>.ipynb (nbgrader zip_collect)
COLLECT_REGEXP = (r".*/(?P<student_id>[A-Za-z0-9.\-]+)_(?:attempt_(?P<timestamp>[0-9\-]+)_)?"
                  r"(?P<file_id>[^/]+\.ipynb)$")

# --- data -------------------------------------------------------------------------------
MNIST_DIR = os.environ.get("NNCOURSE_MNIST_DIR", "")   # folder with the 4 IDX .gz files, "" = none
MNIST_CACHE_DIR = os.environ.get(                      # verified .npy cache (fast loading)
    "NNCOURSE_MNIST_CACHE", str(Path.home() / ".cache" / "nn-learning-course" / "mnist"))

# --- tolerances' defaults used by autograders/ ------------------------------------------
RTOL = 1e-5                               # relative tolerance for floating-point answers
ATOL = 1e-8                               # absolute tolerance for floating-point answers
GRAD_RTOL = 1e-4                          # numerical gradients (h = 1e-4 truncation error)
MIN_TEST_ACCURACY = 0.94                  # the lecture's final test accuracy (0.9462) rounded down
MAX_TRAIN_TEST_GAP = 0.02                 # |train acc - test acc| after the last epoch


def configure_nbgrader(c):
    """Apply these settings to an nbgrader/traitlets config object ``c``."""
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.root = str(COURSE_ROOT)
    # the jupytext twins (*.pct.py) hold solutions: they must never reach a release
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                                "*.pct.py"]
    c.ExecutePreprocessor.timeout = CELL_TIMEOUT_S
    c.ExecutePreprocessor.interrupt_on_timeout = True
    c.LimitOutput.max_lines = 200
    c.ClearSolutions.code_stub = {
        "python": "# ここにコードを書いてください (YOUR CODE HERE)\nraise NotImplementedError()"}
    c.ClearSolutions.text_stub = "ここに解答を書いてください (YOUR ANSWER HERE)"
    # hidden tests import autograders/ and reference/ from the course root
    path = os.environ.get("PYTHONPATH", "")
    if str(COURSE_ROOT) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(COURSE_ROOT), path) if p)
    return c
