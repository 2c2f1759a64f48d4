"""The one Settings object: MOVIE_ASSETS_* variables, typed, and a bad one named in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from movie_assets.errors import InvalidValue
from movie_assets.settings import Settings


def test_variables_become_typed_settings_in_any_case_and_overrides_win():
    settings = Settings.load(
        {
            "MOVIE_ASSETS_ROOT": "/data/movies",
            "movie_assets_offline": "1",
            "MOVIE_ASSETS_SENSOR_INTERVAL": "30",
            "MOVIE_ASSETS_STORAGE_OPTIONS": '{"endpoint_url": "http://127.0.0.1:9000"}',
            "MOVIE_ASSETS_EVENT_LOG": "redis",
            "MOVIE_ASSETS_NOT_A_SETTING": "ignored",
            "HOME": "/root",
        },
        root="s3://bucket/movies",
    )
    assert settings.root == "s3://bucket/movies", "an explicit override (the CLI's --root) wins"
    assert settings.offline is True and settings.sensor_interval == 30 and settings.event_log == "redis"
    assert settings.storage_options == {"endpoint_url": "http://127.0.0.1:9000"}
    assert Settings.load({}) == Settings.load({"UNRELATED": "x"}), "defaults without variables"
    assert Settings.load({}).root == "builds"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("MOVIE_ASSETS_STORAGE_OPTIONS", "{not json", "must be a JSON object"),
        ("MOVIE_ASSETS_STORAGE_OPTIONS", "[1, 2]", "must be a JSON object"),
        ("MOVIE_ASSETS_SENSOR_INTERVAL", "0", "greater than or equal to 1"),
        ("MOVIE_ASSETS_OFFLINE", "maybe", "valid boolean"),
        ("MOVIE_ASSETS_EVENT_LOG", "kafka", "'file' or 'redis'"),
    ],
)
def test_a_bad_variable_is_refused_by_name(variable, value, says):
    with pytest.raises(InvalidValue, match=f"{variable}: .*{says}"):
        Settings.load({variable: value})


def test_the_command_line_turns_a_malformed_variable_into_one_line_and_exit_code_2(tmp_path):
    env = {"MOVIE_ASSETS_STORAGE_OPTIONS": "{not json", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "movie_assets.cli", "--root", str(tmp_path), "status", "film"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "MOVIE_ASSETS_STORAGE_OPTIONS" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
