"""The tools the local broker needs: Java to run it, Maven to fetch its jars once.

Both are looked up on PATH when needed, and their absence is a one-line error saying
what to install. (The errors are imported where raised: ``local_broker`` declares them
and imports this module.)
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path

from streams.devtools.errors import MissingToolError
from streams.kafka.errors import BrokerError

__all__ = ["JVM_OPTS", "fetch_jars", "find_java", "jars_present", "java_cmd", "run_storage_tool"]

log = logging.getLogger(__name__)

JVM_OPTS: tuple[str, ...] = (
    "-Xms128m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)
"""Modest heap: the dev broker shares a small machine with the workers under test."""

JAVA_HINT = (
    "Java 17+ is required to run the local Kafka broker: "
    "install OpenJDK 17 (apt-get install openjdk-17-jre-headless)"
)
MAVEN_HINT = (
    "Maven is required to fetch the Kafka broker jars on first use: "
    "install Maven (apt-get install maven)"
)
#: Lines of a failed tool's output (or the broker's log) an error carries.
LOG_TAIL_LINES = 20


def java_major(java: str) -> int | None:
    """Major version of ``java`` (8 for "1.8.0"), or None when it cannot be told."""
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):
        major = int(match.group(2))
    return major


def find_java() -> str:
    """The ``java`` on PATH, 17 or newer (an unknown version is given the benefit)."""

    java = shutil.which("java")
    if java is None:
        raise MissingToolError("java", JAVA_HINT)
    major = java_major(java)
    if major is not None and major < 17:
        raise MissingToolError(
            "java", JAVA_HINT.replace(": install", f" (found Java {major}): install")
        )
    return java


def jars_present(lib_dir: Path) -> bool:
    """True when the broker jar is already cached, so no Maven run is needed."""
    return any(lib_dir.glob("kafka_2.13-*.jar"))


def fetch_jars(lib_dir: Path, pom_path: Path) -> bool:
    """Fetch the broker jars with Maven unless cached; returns True if it downloaded.

    Maven is only needed on first use, so its absence is an error only then.
    """

    if jars_present(lib_dir):
        return False
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MissingToolError("mvn", MAVEN_HINT)
    if not pom_path.is_file():
        raise BrokerError(
            f"Kafka pom not found at {pom_path}: set STREAMS_HOME to the project checkout"
        )
    lib_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom_path),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={lib_dir}",
    ]
    log.info("fetching Kafka jars into %s", lib_dir)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not jars_present(lib_dir):
        tail = (result.stdout + result.stderr).strip().splitlines()[-LOG_TAIL_LINES:]
        raise BrokerError(
            f"Maven could not fetch the Kafka jars into {lib_dir} "
            f"(exit {result.returncode})\n" + "\n".join(tail)
        )
    return True


def java_cmd(java: str, log4j_path: Path, lib_dir: Path, main_class: str, *args: str) -> list[str]:
    """The command line of one of Kafka's main classes, on the cached jars."""
    return [
        java,
        *JVM_OPTS,
        f"-Dlog4j2.configurationFile={log4j_path}",
        "-cp",
        str(lib_dir / "*"),  # the JVM expands the wildcard itself
        main_class,
        *args,
    ]


def run_storage_tool(java: str, log4j_path: Path, lib_dir: Path, cwd: Path, *args: str) -> str:
    """Run ``kafka-storage`` (``kafka.tools.StorageTool``) and return what it printed."""

    result = subprocess.run(
        java_cmd(java, log4j_path, lib_dir, "kafka.tools.StorageTool", *args),
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        out = (result.stdout + result.stderr).strip().splitlines()[-LOG_TAIL_LINES:]
        raise BrokerError(
            f"kafka-storage {args[0]} failed (exit {result.returncode})\n" + "\n".join(out)
        )
    return result.stdout
