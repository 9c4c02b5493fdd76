"""`shapels.serverStatus`: what the server process holds (for tests and benchmarks): open documents,
resident memory, and whether torch was ever imported (it must not be)."""

from __future__ import annotations

import os
import sys

STATUS_COMMAND = "shapels.serverStatus"


def register(server) -> None:
    @server.command(STATUS_COMMAND)
    def server_status(ls, *args):
        return status(ls)


def status(server) -> dict:
    return {
        "pid": os.getpid(),
        "torch_imported": "torch" in sys.modules,
        "documents": len(server.state.documents),
        "rss_kb": rss_kb(),
        "features": list(server.features),
        "dropped": getattr(getattr(server, "scheduler", None), "dropped", 0),
        "analyses": getattr(getattr(server, "scheduler", None), "runs", 0),
    }


def rss_kb() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    except Exception:  # noqa: BLE001
        return 0
