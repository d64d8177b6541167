"""A long-lived local grading process: ``python -m nncourse.grading.worker``.

The local executor (``executors.LocalExecutor``) starts one per job slot and feeds it tasks
over its stdin; each answer goes back on its stdout.  Frames are an 8-byte big-endian
length and a pickle, both ways: both ends are trusted processes of the same installation
(the student's code runs in a sandboxed kernel of this process and only ever sends plain
data, ``wire.py``).  Anything printed goes to stderr (the slot's log), never into a frame.

Requests: ``("inputs", GradingInputs)`` once per assignment's inputs, ``("task", GradingTask)``
answered by ``("result", TaskResult)``; end of input ends the process.
"""
import logging
import os
import pickle
import struct
import sys

HEADER = struct.Struct(">Q")


def write_frame(stream, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def read_exact(stream, n):
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(stream):
    head = read_exact(stream, HEADER.size)
    if head is None:
        return None
    body = read_exact(stream, HEADER.unpack(head)[0])
    return None if body is None else pickle.loads(body)


def serve(inp, out):
    from .task import run_task
    inputs = {}
    while True:
        msg = read_frame(inp)
        if msg is None:
            return 0
        kind, obj = msg
        if kind == "inputs":
            inputs[obj.digest] = obj
        elif kind == "task":
            write_frame(out, ("result", run_task(obj, inputs[obj.inputs_digest])))


def main():
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                      # prints (nbgrader, libraries) go to the log
    inp = os.fdopen(os.dup(0), "rb")
    return serve(inp, out)


if __name__ == "__main__":
    sys.exit(main())
