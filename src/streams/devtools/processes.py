"""Stopping child processes we started, with everything they started in turn."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process_group(proc: subprocess.Popen[bytes], timeout_s: float = 30) -> int:
    """SIGTERM the process group (the child was started with ``start_new_session``), give
    it ``timeout_s`` to shut down cleanly, then SIGKILL. Returns the exit code."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode
