"""Every shipped blueprint validates, runs offline end to end and makes the kind of file its name promises."""

import numpy as np
import pytest

from movie_assets.lifecycle.exports import final_artefact
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import builtin_blueprints, load_builtin
from movie_assets.producers.media import decode_mp4, read_wav
from movie_assets.producers.registry import default_registry

SIX = ["audio-only", "image-audio", "image-only", "music-only", "video-audio-music", "video-only"]
INPUTS = {
    "music-only": {"Title": "A track", "Duration": 6},
    "image-only": {"Title": "Slides", "NumOfSegments": 2, "ImagesPerSegment": 2, "SegmentDuration": 2},
}
# the final cut's type: a sound file, or a film whose picture changes
PROMISE = {
    "audio-only": "audio/wav",
    "music-only": "audio/wav",
    "image-audio": "video/mp4",
    "image-only": "video/mp4",
    "video-only": "video/mp4",
    "video-audio-music": "video/mp4",
}


def test_all_six_blueprints_are_shipped():
    assert sorted(builtin_blueprints()) == SIX


@pytest.mark.parametrize("name", SIX)
def test_a_shipped_blueprint_runs_offline_and_makes_what_its_name_promises(local_storage, name):
    store = MovieStore(local_storage, name)
    store.init(load_builtin(name), INPUTS.get(name, {"Title": f"The {name} film", "NumOfSegments": 2}))
    outcome = store.regenerate(default_registry())
    assert outcome.committed, outcome.run.results if outcome.run else None
    manifest, _ = store.current()
    _, entry = final_artefact(manifest)
    mime = PROMISE[name]
    assert entry.blob.mime_type == mime
    data = store.blobs.get(entry.blob)
    assert store.fs.exists(f"exports/{manifest.revision}.{'mp4' if mime == 'video/mp4' else 'wav'}")
    if mime == "audio/wav":
        samples, rate = read_wav(data)
        assert np.abs(samples).max() > 0.01, "not silence"
        assert abs(len(samples) / rate - manifest.timeline.duration) < 0.1
        if name == "music-only":
            assert manifest.timeline.duration == 6, "as long as asked"
        return
    frames, size = decode_mp4(data)
    assert size == (320, 180) and abs(len(frames) / 12 - manifest.timeline.duration) < 0.5
    assert len({f[:3000] for f in frames}) > 1, "the picture changes"
    if name == "image-only":
        assert manifest.timeline.duration == 4, "two segments of SegmentDuration 2"
