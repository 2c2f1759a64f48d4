"""The viewer on an S3 root (moto's server): pages render and media stream with ranges."""

from __future__ import annotations

from starlette.testclient import TestClient

from movie_assets.pipeline.blueprint.load import load_builtin
from movie_assets.producers.registry import default_registry
from movie_assets.settings import Settings
from movie_assets.viewer import create_app
from movie_assets_tests.helpers import quick


def test_media_stream_from_an_s3_root_with_ranges(moto_s3):
    settings = Settings.load(root=f"s3://{moto_s3.new_bucket()}/movies", storage_options=moto_s3.options())
    store = settings.movie_store("cloudy")
    store.init(load_builtin("audio-only"), quick(load_builtin("audio-only"), {"Title": "On S3", "NumOfSegments": 1}))
    assert store.regenerate(default_registry()).committed
    client = TestClient(create_app(settings, produce_factory=default_registry), base_url="http://localhost")
    assert "cloudy" in client.get("/").text and client.get("/movies/cloudy").status_code == 200
    mix = store.current()[0].artefacts["export/mix"].blob
    data = store.blobs.get(mix)
    whole = client.get("/movies/cloudy/media/rev-0001/export/mix")
    assert whole.status_code == 200 and whole.content == data and whole.headers["content-type"] == "audio/wav"
    part = client.get("/movies/cloudy/media/rev-0001/export/mix", headers={"Range": "bytes=44-1043"})
    assert part.status_code == 206 and part.content == data[44:1044]
