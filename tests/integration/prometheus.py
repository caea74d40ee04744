"""A real Prometheus (Debian's ``prometheus`` 2.42) on loopback, for integration tests.

    config = local_config({"streams-worker": ["127.0.0.1:9108"]})
    prom = start_prometheus(config, tmp_path / "prometheus")
    try:
        prom.wait_for('up{job="streams-worker"} == 1')
        series = prom.query("model:streams_ingest_events:rate5m")
    finally:
        prom.stop()

Everything stays on 127.0.0.1: the HTTP client ignores proxy settings, and the test
config scrapes only the targets it is given and sends no alerts.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml

from streams.devtools.local_broker import free_ports
from streams.devtools.processes import stop_process_group

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))

T = TypeVar("T")
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def local_config(targets: dict[str, list[str]], interval: str = "1s") -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml for a test: the jobs in ``targets`` scrape those
    targets (the other jobs are dropped), every ``interval``; rules are evaluated as often,
    from their absolute paths; no Alertmanager."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(
        scrape_interval=interval, scrape_timeout=interval, evaluation_interval=interval
    )
    config["rule_files"] = [str(path) for path in RULE_FILES]
    config.pop("alerting", None)
    jobs = [job for job in config["scrape_configs"] if job["job_name"] in targets]
    assert {job["job_name"] for job in jobs} == set(targets), "unknown job"
    for job in jobs:
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
    config["scrape_configs"] = jobs
    return config


def wait_until(probe: Callable[[], T], timeout_s: float, what: str, every_s: float = 0.2) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every_s)


def _timestamp(rfc3339: str) -> float:
    """Prometheus's RFC 3339 times carry nanoseconds; datetime takes microseconds."""
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", rfc3339)).timestamp()


@dataclass
class Prometheus:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with _LOOPBACK.open(f"{self.url}{path}{query}", timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of ``expr`` now (scalars and strings are not expected)."""
        data = self.get("/api/v1/query", query=expr)
        assert data["resultType"] == "vector", data
        return data["result"]

    def wait_for(self, expr: str, timeout_s: float = 30) -> list[dict[str, Any]]:
        """Poll until ``expr`` returns a series: data arrives with scrapes, never sooner."""
        try:
            return wait_until(lambda: self.query(expr), timeout_s, repr(expr))
        except TimeoutError as e:
            raise TimeoutError(f"{e}; prometheus log:\n{self.logs()}") from None

    def wait_for_rule_evaluation(self, after: float, timeout_s: float = 30) -> None:
        """Until every rule group has been evaluated since the wall time ``after``."""

        def evaluated() -> bool:
            groups = self.get("/api/v1/rules")["groups"]
            return bool(groups) and all(_timestamp(g["lastEvaluation"]) > after for g in groups)

        wait_until(evaluated, timeout_s, "an evaluation of every rule group")

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop_process_group(self.proc, timeout_s=20)


def start_prometheus(
    config: dict[str, Any], workdir: Path, timeout_s: float = 30, extra_args: tuple[str, ...] = ()
) -> Prometheus:
    """Start Prometheus with ``config`` on a free loopback port, its data in ``workdir``;
    return once it reports ready (which is before its first scrape is queryable)."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed (Debian package prometheus)"
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    (port,) = free_ports(1)
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config_file}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--storage.tsdb.path={workdir / 'data'}",
                *extra_args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    prom = Prometheus(proc, port, log)

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited with {proc.returncode}:\n{prom.logs()}")
        try:
            with _LOOPBACK.open(f"{prom.url}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(ready, timeout_s, "prometheus to be ready", every_s=0.1)
    except BaseException:
        prom.stop()
        raise
    return prom


_SET_OPERATOR = re.compile(r"\b(?:and|or|unless)\b")
_MATCHING = re.compile(r"^(?:on|ignoring)\s*\([^)]*\)\s*")
_COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")


def _top_level(expr: str) -> list[bool]:
    """For each character: is it outside every bracket and string?"""
    mask, depth, quote = [], 0, ""
    escaped = False
    for char in expr:
        if quote:
            mask.append(False)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        mask.append(depth == 0 and not quote and char not in ")]}")
    return mask


def _unwrap(expr: str) -> str:
    """Without the parentheses around the whole expression, if any."""
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")") and not any(_top_level(expr)):
        expr = expr[1:-1].strip()
    return expr


def series_operands(expr: str) -> list[str]:
    """The parts of an alerting expression that must return series for it to work: split
    at the top-level ``and``/``or``/``unless``, each part with its comparison removed.

    >>> series_operands('up{job="streams-worker"} == 0')
    ['up{job="streams-worker"}']
    >>> series_operands('(a > (14.4 * 0.01) and b > 0.1) or (c{r=~"x|y"} != 1)')
    ['a', 'b', 'c{r=~"x|y"}']
    >>> series_operands("time() - max_over_time(t[1h]) > 60")
    ['time() - max_over_time(t[1h])']
    """
    expr = _unwrap(expr)
    mask = _top_level(expr)
    cuts = [m.span() for m in _SET_OPERATOR.finditer(expr) if mask[m.start()]]
    if cuts:
        starts = [0, *(end for _, end in cuts)]
        ends = [*(start for start, _ in cuts), len(expr)]
        parts = [expr[a:b].strip() for a, b in zip(starts, ends, strict=True)]
        return [op for part in parts for op in series_operands(_MATCHING.sub("", part))]
    for i, top in enumerate(mask):
        if top and expr.startswith(_COMPARISONS, i):
            return [_unwrap(expr[:i])]
    return [expr]
