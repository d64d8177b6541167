"""``python -m nncourse.kernel.limits [--as-mib N] [--cpu-s N] [--nproc N] [--fsize-mib N]
[--nofile N] [--uid U --gid G] -- CMD...``: exec CMD under rlimits (0 = unlimited / unchanged).

The grading kernel is launched through this wrapper (see ``sandbox.py``); it imports only
the standard library so that it adds a few milliseconds to a kernel start.  With ``--uid``
(given when the grader is root and there is no bwrap; with bwrap the drop happens inside the
outer bwrap layer), it drops to that uid/gid with no supplementary groups after setting the
limits, before the exec: the limits cannot be raised again.
"""
import os
import resource
import sys

MIB = 1024 * 1024


def _set(kind, soft, hard=None):
    hard = soft if hard is None else hard
    cur_soft, cur_hard = resource.getrlimit(kind)
    if cur_hard != resource.RLIM_INFINITY and os.geteuid() != 0:   # cannot raise the hard one
        hard, soft = min(hard, cur_hard), min(soft, cur_hard)
    resource.setrlimit(kind, (soft, hard))


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1:]
    values = dict(zip(opts[::2], opts[1::2]))

    def num(key):
        return int(values.get(key, 0))

    if num("--as-mib") > 0:                 # memory: address space of each process
        _set(resource.RLIMIT_AS, num("--as-mib") * MIB)
    if num("--cpu-s") > 0:                  # CPU seconds (SIGXCPU at soft, SIGKILL at hard)
        _set(resource.RLIMIT_CPU, num("--cpu-s"), num("--cpu-s") + 5)
    if num("--nproc") > 0:                  # processes + threads of the (sandbox) host uid
        _set(resource.RLIMIT_NPROC, num("--nproc"))
    if num("--fsize-mib") > 0:              # largest file it may write (EFBIG beyond)
        _set(resource.RLIMIT_FSIZE, num("--fsize-mib") * MIB)
    if num("--nofile") > 0:                 # open file descriptors
        _set(resource.RLIMIT_NOFILE, num("--nofile"))
    if "--uid" in values and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(int(values.get("--gid", values["--uid"])))
        os.setuid(int(values["--uid"]))
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
