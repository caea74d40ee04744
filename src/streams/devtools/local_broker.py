"""A real single-node Apache Kafka broker for development and integration tests.

Tests and local runs talk to the same broker software production uses (KRaft
mode, no ZooKeeper, no Docker), so protocol and group-coordination behaviour is
the real thing rather than a mock. The broker's jars come from Maven Central
via ``deploy/kafka/pom.xml`` and are cached under ``.kafka/lib``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streams.devtools.broker_config import (
    SecureListener,
    log4j_properties,
    server_properties,
    with_secure_listener,
)
from streams.devtools.broker_process import (
    is_kafka_process,
    log_tail,
    port_accepts,
    port_is_free,
    signal_group,
)
from streams.devtools.broker_tools import (
    LOG_TAIL_LINES,
    fetch_jars,
    find_java,
    jars_present,
    java_cmd,
    run_storage_tool,
)
from streams.devtools.errors import BrokerStartError, PortInUseError
from streams.kafka.errors import BrokerError

__all__ = [
    "BrokerStatus",
    "LocalBroker",
    "free_ports",
    "streams_home",
]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
"""Every listener binds to loopback only: the dev broker must never be reachable from outside."""


@dataclass(frozen=True)
class BrokerStatus:
    """Snapshot of the broker: ``pid`` is None when no process of ours is alive."""

    pid: int | None
    reachable: bool
    bootstrap: str

    @property
    def running(self) -> bool:
        """True when our broker process is alive (it may still be starting up)."""
        return self.pid is not None


def streams_home() -> Path:
    """Project root holding ``deploy/kafka/pom.xml`` and the ``.kafka`` cache.

    ``STREAMS_HOME`` wins so a non-editable install can still point at a checkout;
    an editable install finds the checkout from this file; otherwise the current
    directory is assumed to be the checkout.
    """
    env = os.environ.get("STREAMS_HOME")
    if env:
        return Path(env).expanduser().resolve()
    candidate = Path(__file__).resolve().parents[3]
    if (candidate / "deploy" / "kafka" / "pom.xml").is_file():
        return candidate
    return Path.cwd()


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: all sockets stay bound until every port is picked."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in socks:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


class LocalBroker:
    """A combined broker+controller KRaft node on 127.0.0.1, run as a detached JVM.

    The process outlives the Python process that started it (``streams kafka
    start`` returns once the broker is ready), so all state needed to find it
    again (pid, config, logs, data) lives in ``data_dir``.
    """

    def __init__(
        self,
        port: int = 9092,
        controller_port: int | None = None,
        data_dir: Path | str | None = None,
        lib_dir: Path | str | None = None,
        pom_path: Path | str | None = None,
        secure: SecureListener | None = None,
    ) -> None:
        home = streams_home()
        self.secure = secure
        self.port = int(port)
        self.controller_port = int(controller_port) if controller_port else self.port + 1
        if self.controller_port == self.port:
            raise BrokerError(f"controller port must differ from broker port {self.port}")
        self.data_dir = Path(data_dir) if data_dir else home / ".kafka" / f"data-{self.port}"
        self.lib_dir = Path(lib_dir) if lib_dir else home / ".kafka" / "lib"
        self.pom_path = Path(pom_path) if pom_path else home / "deploy" / "kafka" / "pom.xml"
        self.data_dir = self.data_dir.expanduser().resolve()
        self.lib_dir = self.lib_dir.expanduser().resolve()
        self.pom_path = self.pom_path.expanduser().resolve()
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"LocalBroker(bootstrap={self.bootstrap!r}, data_dir={str(self.data_dir)!r})"

    # -- paths -------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """``bootstrap.servers`` value for clients."""
        return f"{HOST}:{self.port}"

    @property
    def secure_bootstrap(self) -> str | None:
        """``bootstrap.servers`` of the SASL_SSL listener, None when there is none."""
        return None if self.secure is None else f"{HOST}:{self.secure.port}"

    @property
    def log_path(self) -> Path:
        """Broker stdout/stderr and log4j output (WARN and above), one file."""
        return self.data_dir / "broker.log"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def properties_path(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log4j_path(self) -> Path:
        return self.data_dir / "log4j2.properties"

    @property
    def log_dirs(self) -> Path:
        """Kafka's own partition data (``log.dirs``), kept apart from our bookkeeping files."""
        return self.data_dir / "kraft-logs"

    # -- jars --------------------------------------------------------------------

    def jars_present(self) -> bool:
        """True when the broker jar is already cached, so no Maven run is needed."""
        return jars_present(self.lib_dir)

    def ensure_jars(self) -> bool:
        """Fetch the broker jars with Maven unless cached; returns True if it downloaded."""
        return fetch_jars(self.lib_dir, self.pom_path)

    # -- process bookkeeping -----------------------------------------------------

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _is_our_broker(self, pid: int) -> bool:
        """Alive and really our JVM: guards against a stale pid file and pid reuse."""
        if self._proc is not None and self._proc.pid == pid:
            return self._proc.poll() is None
        return is_kafka_process(pid, self.properties_path)

    def _live_pid(self) -> int | None:
        pid = self._read_pid()
        if pid is not None and self._is_our_broker(pid):
            return pid
        return None

    def _probe(self, timeout_s: float = 3.0) -> bool:
        """Ready means an AdminClient can list topics, i.e. metadata requests are served."""
        if not port_accepts(HOST, self.port):
            return False
        admin = AdminClient(
            {
                "bootstrap.servers": self.bootstrap,
                "socket.connection.setup.timeout.ms": 2000,
                "reconnect.backoff.ms": 100,
                "reconnect.backoff.max.ms": 500,
                "log_level": 0,  # connection-refused noise while starting is expected
                "error_cb": lambda _err: None,
            }
        )
        try:
            admin.list_topics(timeout=timeout_s)
        except KafkaException:
            return False
        return True

    def status(self) -> BrokerStatus:
        """Whether our process is alive and whether the port answers Kafka metadata requests."""
        return BrokerStatus(pid=self._live_pid(), reachable=self._probe(), bootstrap=self.bootstrap)

    # -- config ------------------------------------------------------------------

    def server_properties(self) -> dict[str, str]:
        """Single-node settings: every internal topic at replication 1 so one node suffices."""
        props = server_properties(HOST, self.port, self.controller_port, self.log_dirs)
        return props if self.secure is None else with_secure_listener(props, HOST, self.secure)

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props = "".join(f"{key}={value}\n" for key, value in self.server_properties().items())
        self.properties_path.write_text(
            "# Written by streams LocalBroker on every start; edits are lost.\n" + props
        )
        self.log4j_path.write_text(log4j_properties(self.log_path))

    def _java_cmd(self, java: str, main_class: str, *args: str) -> list[str]:
        return java_cmd(java, self.log4j_path, self.lib_dir, main_class, *args)

    def _run_tool(self, java: str, *args: str) -> str:
        return run_storage_tool(java, self.log4j_path, self.lib_dir, self.data_dir, *args)

    def _format_storage(self, java: str) -> None:
        """Format the KRaft log dir once; later starts reuse the cluster id and data."""
        if (self.log_dirs / "meta.properties").is_file():
            return
        cluster_id = self._run_tool(java, "random-uuid").strip().splitlines()[-1].strip()
        log.info("formatting %s with cluster id %s", self.log_dirs, cluster_id)
        users = self.secure.format_arguments() if self.secure is not None else []
        self._run_tool(java, "format", "-t", cluster_id, "-c", str(self.properties_path), *users)

    # -- lifecycle ---------------------------------------------------------------

    def start(self, timeout_s: float = 60) -> BrokerStatus:
        """Start the broker (or adopt the running one) and return once clients can use it."""
        pid = self._live_pid()
        if pid is not None:
            if self._probe():
                return BrokerStatus(pid=pid, reachable=True, bootstrap=self.bootstrap)
            # Ours but not answering yet: another `start` is probably still waiting on it.
            return self._wait_ready(pid, timeout_s, stop_on_failure=False)
        java = find_java()
        secure_port = [self.secure.port] if self.secure is not None else []
        for port in (self.port, self.controller_port, *secure_port):
            if not port_is_free(HOST, port):
                raise PortInUseError(
                    f"port {HOST}:{port} is already in use by another process; "
                    "choose another with --port or stop that process"
                )
        self.ensure_jars()
        self._write_config()
        self._format_storage(java)
        if self.log_path.exists():
            self.log_path.replace(self.log_path.with_suffix(".log.1"))
        with self.log_path.open("ab") as log_file:
            self._proc = subprocess.Popen(
                self._java_cmd(java, "kafka.Kafka", str(self.properties_path)),
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: survives the CLI, killed as a unit
                close_fds=True,
            )
        self.pid_path.write_text(f"{self._proc.pid}\n")
        log.info("started Kafka broker pid %d on %s", self._proc.pid, self.bootstrap)
        return self._wait_ready(self._proc.pid, timeout_s, stop_on_failure=True)

    def _wait_ready(self, pid: int, timeout_s: float, *, stop_on_failure: bool) -> BrokerStatus:
        """Poll until reachable; a broker that dies or hangs is reported with its log tail."""
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                if not self._is_our_broker(pid):
                    code = self._proc.returncode if self._proc and self._proc.pid == pid else None
                    how = f"exited with code {code}" if code is not None else "exited"
                    self.pid_path.unlink(missing_ok=True)
                    raise BrokerStartError(
                        f"Kafka broker {how} during startup",
                        self.log_path,
                        log_tail(self.log_path, LOG_TAIL_LINES),
                    )
                if self._probe(timeout_s=2.0):
                    return BrokerStatus(pid=pid, reachable=True, bootstrap=self.bootstrap)
                if time.monotonic() >= deadline:
                    raise BrokerStartError(
                        f"Kafka broker pid {pid} not reachable on {self.bootstrap} "
                        f"after {timeout_s:g}s",
                        self.log_path,
                        log_tail(self.log_path, LOG_TAIL_LINES),
                    )
                time.sleep(0.25)
        except BaseException:
            # Includes Ctrl-C: never leave a half-started JVM behind.
            if stop_on_failure:
                self.stop()
            raise

    def stop(self, timeout_s: float = 30) -> int | None:
        """Stop the broker (SIGTERM, then SIGKILL); returns the pid stopped, None if none ran.

        Signals the whole process group so nothing the JVM spawned survives it.
        Calling it again, or on a broker never started, is a no-op.
        """
        pid = self._live_pid()
        if pid is None:
            self.pid_path.unlink(missing_ok=True)
            self._proc = None
            return None
        signal_group(pid, signal.SIGTERM)
        if not self._wait_exit(pid, timeout_s):
            log.warning("Kafka broker pid %d ignored SIGTERM for %gs; killing", pid, timeout_s)
            signal_group(pid, signal.SIGKILL)
            self._wait_exit(pid, 10)
        self.pid_path.unlink(missing_ok=True)
        self._proc = None
        return pid

    def _wait_exit(self, pid: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._is_our_broker(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True
