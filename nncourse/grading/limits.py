"""``python -m nncourse.grading.limits --as-mib N --cpu-s N -- CMD...``: exec CMD under rlimits.

The grading kernel is launched through this wrapper (see ``sandbox.py``); it imports only
the standard library so that it adds a few milliseconds to a kernel start.
"""
import os
import resource
import sys


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1:]
    values = dict(zip(opts[::2], opts[1::2]))
    if int(values.get("--as-mib", 0)) > 0:
        limit = int(values["--as-mib"]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if int(values.get("--cpu-s", 0)) > 0:
        limit = int(values["--cpu-s"])
        resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 5))
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
