"""A long-lived local grading process: ``python -m nncourse.grade.worker``.

The local executor (``executors.LocalExecutor``) starts one per job slot and feeds it tasks
over its stdin; each answer goes back on its stdout, in frames (``frames.py``).  Anything
printed goes to stderr (the slot's log), never into a frame.

Requests: ``("inputs", GradingInputs)`` once per assignment's inputs, ``("task", GradingTask)``
answered by ``("result", TaskResult)``; end of input ends the process.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import IO

from .frames import read_frame, write_frame
from .task import WorkerState, run_task

def serve(inp: IO[bytes], out: IO[bytes]) -> int:
    inputs = {}
    state = WorkerState()              # this process's scratch courses, kept between tasks
    try:
        while True:
            msg = read_frame(inp)
            if msg is None:
                return 0
            kind, obj = msg
            if kind == "inputs":
                inputs[obj.digest] = obj
            elif kind == "task":
                write_frame(out, ("result", run_task(obj, inputs[obj.inputs_digest], state)))
    finally:
        state.close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                      # prints (nbgrader, libraries) go to the log
    inp = os.fdopen(os.dup(0), "rb")
    return serve(inp, out)


if __name__ == "__main__":
    sys.exit(main())
