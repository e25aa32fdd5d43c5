"""``python -m bench._tree OUT CMD...``: run CMD and every process it starts; write their CPU to OUT.

The whole process tree counts, whatever outlives the command: this process becomes a *child subreaper*
(Linux ``prctl(PR_SET_CHILD_SUBREAPER)``), so a descendant left running when CMD exits (Prefect's temporary
server, stopped without waiting) is handed to it, waited for and counted. OUT gets one JSON object:
``{"cpu": seconds, "wall": seconds to CMD's exit, "returncode": CMD's}``. Standard streams pass through.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
ORPHANS_GRACE = 30.0  # seconds to let leftovers finish their shutdown before they are killed


def _children() -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == me:
                found.append(int(entry.name))
    return found


def main(out: Path, command: list[str]) -> int:
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    started = time.perf_counter()
    process = subprocess.Popen(command)
    _, status = os.waitpid(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = returncode = os.waitstatus_to_exitcode(status)
    deadline = time.monotonic() + ORPHANS_GRACE
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            if time.monotonic() > deadline:
                for orphan in _children():
                    os.kill(orphan, signal.SIGKILL)
            time.sleep(0.05)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = {"cpu": usage.ru_utime + usage.ru_stime, "wall": wall, "returncode": returncode}
    out.write_text(json.dumps(report))
    return returncode


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), sys.argv[2:]))
