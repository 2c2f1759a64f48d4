"""Every shipped blueprint validates, runs offline end to end and makes the kind of file its name promises."""

import pytest

from movie_assets.lifecycle.exports import final_artefact
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import builtin_blueprints, load_builtin
from movie_assets.producers.registry import default_registry
from movie_assets_tests.helpers import film_info, frozen_seconds, loudness_of

SILENT = {"image-only", "video-only"}  # slideshows and cuts without sound, by design
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


@pytest.mark.film
@pytest.mark.parametrize("name", SIX)
def test_a_shipped_blueprint_runs_offline_and_makes_what_its_name_promises(local_storage, name):
    store = MovieStore(local_storage, name)
    bp = load_builtin(name)
    # eight seconds hold a title and two segments: every stage of the film, without paying for twenty
    given = INPUTS.get(name, {"Title": f"The {name} film", "NumOfSegments": 2, "Duration": 8})
    store.init(bp, {k: v for k, v in given.items() if k in bp.inputs})
    outcome = store.regenerate(default_registry())
    assert outcome.committed, outcome.run.results if outcome.run else None
    manifest, _ = store.current()
    _, entry = final_artefact(manifest)
    mime = PROMISE[name]
    assert entry.blob.mime_type == mime
    data = store.blobs.get(entry.blob)
    assert store.fs.exists(f"exports/{manifest.revision}.{'mp4' if mime == 'video/mp4' else 'wav'}")
    info = film_info(data)
    assert info.sample_rate == 48000 and info.channels == 2, "48 kHz stereo"
    if name not in SILENT:  # mastered: EBU R128 -16 LUFS +-1, true peak at most -1 dBTP
        loud = loudness_of(data, ".wav" if mime == "audio/wav" else ".mp4")
        assert abs(loud["integrated_lufs"] + 16) <= 1 and loud["true_peak_dbtp"] <= -1, loud
    if mime == "audio/wav":
        assert abs(info.duration - manifest.timeline.duration) < 0.1
        if name == "music-only":
            assert manifest.timeline.duration == 6, "as long as asked"
        return
    assert (info.width, info.height) == (manifest.timeline.width, manifest.timeline.height) == (1280, 720)
    assert info.fps == 24 and abs(info.duration - manifest.timeline.duration) < 0.5
    assert frozen_seconds(data) < 0.05 * info.duration, "no frame stands still"
    if name == "image-only":
        assert manifest.timeline.duration == 2.5 + 4, "the title card, then two segments of SegmentDuration 2"
