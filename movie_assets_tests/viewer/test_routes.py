"""The viewer's routes through Starlette's TestClient: media with ranges and ETags, 404s, CSRF, traversal."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from movie_assets.producers.registry import default_registry
from movie_assets.viewer import create_app

from .conftest import MOVIE


@pytest.fixture
def client(settings, built) -> TestClient:
    return TestClient(create_app(settings, produce_factory=default_registry), base_url="http://127.0.0.1:8765")


def _final_cut(built):
    manifest, _ = built.current()
    return manifest.artefacts["export/movie"].blob


def test_pages_render_the_movie(client, built):
    index = client.get("/")
    assert index.status_code == 200 and MOVIE in index.text and "rev-0001" in index.text
    page = client.get(f"/movies/{MOVIE}")
    assert page.status_code == 200
    assert f"/movies/{MOVIE}/media/rev-0001/export/movie" in page.text, "the final cut has a player"
    assert page.text.count("data-segment=") == 3
    assert "One storm brings a voice" in page.text, "scripts are shown inline"
    assert 'class="clip video"' in page.text, "the timeline is drawn"
    assert client.get(f"/movies/{MOVIE}/history").status_code == 200
    art = client.get(f"/movies/{MOVIE}/artefacts/segment-0001/video_clip/video")
    assert art.status_code == 200 and "cinematic film shot, 16:9 frame, slow camera move" in art.text, "its prompt"
    assert "One storm brings a voice" in art.text, "the prompt holds the segment's line"


def test_media_is_served_whole_with_type_etag_and_immutable_caching(client, built):
    blob = _final_cut(built)
    response = client.get(f"/movies/{MOVIE}/media/rev-0001/export/movie")
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["etag"] == f'"{blob.hash}"' and "immutable" in response.headers["cache-control"]
    assert response.content == built.blobs.get(blob)
    again = client.get(f"/movies/{MOVIE}/media/rev-0001/export/movie", headers={"If-None-Match": f'"{blob.hash}"'})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "header,first,last",
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", None, None), ("bytes=10-999999999", 10, None)],
)
def test_range_requests_return_exactly_the_bytes_asked_for(client, built, header, first, last):
    blob = _final_cut(built)
    data = built.blobs.get(blob)
    if first is None:
        first = len(data) - 50
    if last is None:
        last = len(data) - 1
    response = client.get(f"/movies/{MOVIE}/media/rev-0001/export/movie", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {first}-{last}/{len(data)}"
    assert response.content == data[first : last + 1]


def test_an_unsatisfiable_range_is_416(client, built):
    size = _final_cut(built).size
    response = client.get(f"/movies/{MOVIE}/media/rev-0001/export/movie", headers={"Range": f"bytes={size}-"})
    assert response.status_code == 416 and response.headers["content-range"] == f"bytes */{size}"


@pytest.mark.parametrize(
    "path",
    [
        "/movies/nosuch",
        f"/movies/{MOVIE}?revision=rev-0099",
        f"/movies/{MOVIE}?revision=not-a-revision",
        f"/movies/{MOVIE}/artefacts/segment-0009/script/text",
        f"/movies/{MOVIE}/media/rev-0001/nothing/here",
        f"/movies/{MOVIE}/media/rev-0001/..%2F..%2Fcurrent.json",
        f"/movies/{MOVIE}/media/rev-0001/segment-0000/../../current.json",
        "/movies/..%2F..%2Fetc/history",
        f"/movies/{MOVIE}/artefacts/%2Fetc%2Fpasswd",
        "/no/such/page",
    ],
)
def test_unknown_or_hostile_paths_are_a_404_page_never_a_traceback(client, path):
    response = client.get(path)
    assert response.status_code in (400, 404), (path, response.status_code)
    assert "Traceback" not in response.text and "root:" not in response.text
    assert "movie_assets" in response.text, "the error page is the viewer's own"


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client, built):
    before = list(built.events.stream_inputs())
    response = client.post(f"/movies/{MOVIE}/edit", data={"key": "SegmentText[1]", "value": "forged"})
    assert response.status_code == 403
    forged = client.post(f"/movies/{MOVIE}/edit", data={"key": "SegmentText[1]", "value": "forged", "csrf": "0" * 64})
    assert forged.status_code == 403
    assert list(built.events.stream_inputs()) == before


def test_edit_and_regenerate_go_through_the_store_and_two_clicks_start_one_run(client, built):
    client.get(f"/movies/{MOVIE}")  # sets the CSRF cookie
    page = client.get(f"/movies/{MOVIE}").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    edited = client.post(
        f"/movies/{MOVIE}/edit",
        data={"key": "SegmentText[1]", "value": "A gull calls twice.", "csrf": csrf},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    assert [e.value for e in built.events.stream_inputs()][-1] == "A gull calls twice."
    first = client.post(f"/movies/{MOVIE}/regenerate", data={"csrf": csrf}, follow_redirects=False)
    state = client.app.state.runs.get(MOVIE)
    second = client.post(f"/movies/{MOVIE}/regenerate", data={"csrf": csrf}, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert client.app.state.runs.get(MOVIE) is state, "the second click joined the running run"
    deadline = time.monotonic() + 60
    while not client.get(f"/movies/{MOVIE}/progress").json().get("finished") and time.monotonic() < deadline:
        time.sleep(0.1)
    progress = client.get(f"/movies/{MOVIE}/progress").json()
    assert progress["status"] == "committed" and progress["revision"] == "rev-0002"
    assert built.manifests.history() == ["rev-0001", "rev-0002"], "one run, one revision"
    diff = client.get(f"/movies/{MOVIE}/diff?a=rev-0001&b=rev-0002")
    assert (
        diff.status_code == 200 and "A gull calls twice." in diff.text and "segment-0001/narration/audio" in diff.text
    )


def test_an_edit_the_store_refuses_is_a_page_with_its_message(client):
    page = client.get(f"/movies/{MOVIE}").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    response = client.post(f"/movies/{MOVIE}/edit", data={"key": "SegmentText[7]", "value": "x", "csrf": csrf})
    assert response.status_code == 400 and "NumOfSegments is 3" in response.text


def _csrf(client) -> str:
    page = client.get(f"/movies/{MOVIE}").text
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_upload_pins_a_file_reroll_asks_for_a_take_and_unpin_gives_it_back(client, built):
    csrf = _csrf(client)
    page = client.get(f"/movies/{MOVIE}/artefacts/segment-0001/script/text")
    assert "Upload and pin" in page.text and "Reroll segment-0001/script" in page.text
    uploaded = client.post(
        f"/movies/{MOVIE}/override?csrf={csrf}",
        data={"csrf": csrf, "artefact": "segment-0001/script/text"},
        files={"file": ("mine.txt", b"My own words for the second scene.", "text/plain")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    assert "pinned" in client.get(f"/movies/{MOVIE}/artefacts/segment-0001/script/text").text
    assert "segment-0001/script" not in built.plan().job_ids
    rerolled = client.post(f"/movies/{MOVIE}/reroll", data={"csrf": csrf, "job": "music"}, follow_redirects=False)
    assert rerolled.status_code == 303 and [j.take for j in built.plan().jobs if j.job_id == "music"] == [1]
    unpinned = client.post(
        f"/movies/{MOVIE}/unpin", data={"csrf": csrf, "artefact": "segment-0001/script/text"}, follow_redirects=False
    )
    assert unpinned.status_code == 303 and "@pin:segment-0001/script/text" not in built.effective_inputs()


def test_an_upload_of_the_wrong_type_or_over_the_limit_is_refused(client, built, monkeypatch):
    import movie_assets.viewer.app as viewer_app

    csrf = _csrf(client)
    wrong = client.post(
        f"/movies/{MOVIE}/override?csrf={csrf}",
        data={"csrf": csrf, "artefact": "segment-0000/narration/audio"},
        files={"file": ("voice.wav", b"not a wav at all", "audio/wav")},
    )
    assert wrong.status_code == 400 and "is audio/wav; the file given is text/plain" in wrong.text
    monkeypatch.setattr(viewer_app, "MAX_UPLOAD_BYTES", 1024)
    big = client.post(
        f"/movies/{MOVIE}/override?csrf={csrf}",
        data={"csrf": csrf, "artefact": "segment-0000/script/text"},
        files={"file": ("big.txt", b"x" * 4096, "text/plain")},
    )
    assert big.status_code == 400 and "limit" in big.text
    no_token = client.post(
        f"/movies/{MOVIE}/override?csrf={csrf}",
        data={"artefact": "segment-0000/script/text"},
        files={"file": ("a.txt", b"x", "text/plain")},
    )
    assert no_token.status_code == 403
    assert not any(k.startswith("@pin:") for k in built.effective_inputs())


def test_an_artefact_page_links_its_movies_dagster_asset_partition(settings, built):
    linked = TestClient(
        create_app(settings, produce_factory=default_registry, dagster_url="http://dagster:3000/"),
        base_url="http://127.0.0.1:8765",
    )
    page = linked.get(f"/movies/{MOVIE}/artefacts/segment-0001/video_clip/video").text
    group = built.blueprint().meta.id.replace("-", "_")
    assert f'href="http://dagster:3000/assets/{group}/video_clip?partition={MOVIE}"' in page, "the movie's partition"
    music = linked.get(f"/movies/{MOVIE}/artefacts/music/audio").text
    assert f'href="http://dagster:3000/assets/{group}/music?partition={MOVIE}"' in music


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5"])
def test_a_range_the_viewer_does_not_serve_gets_the_whole_blob(client, built, header):
    blob = _final_cut(built)
    response = client.get(f"/movies/{MOVIE}/media/rev-0001/export/movie", headers={"Range": header})
    assert response.status_code == 200 and response.content == built.blobs.get(blob)


@pytest.mark.parametrize("tag", ['W/"{h}"', '"0000", "{h}"', "*", '"abc",W/"{h}"'])
def test_weak_and_listed_etags_revalidate(client, built, tag):
    blob = _final_cut(built)
    header = tag.format(h=blob.hash)
    again = client.get(f"/movies/{MOVIE}/media/rev-0001/export/movie", headers={"If-None-Match": header})
    assert again.status_code == 304, header


def test_a_link_placed_in_blobs_is_never_served(client, built, tmp_path):
    import os

    from movie_assets.store.blobs import blob_path

    blob = _final_cut(built)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"private bytes " * 100)
    path = built.fs.resolve(blob_path(blob.hash))
    os.chmod(path, 0o644)
    os.unlink(path)
    os.symlink(secret, path)
    for headers in ({}, {"Range": "bytes=0-9"}):
        response = client.get(f"/movies/{MOVIE}/media/rev-0001/export/movie", headers=headers)
        assert b"private bytes" not in response.content, headers


def test_a_range_of_a_damaged_blob_is_refused_not_sent(client, built):
    import os

    from movie_assets.store.blobs import blob_path

    blob = _final_cut(built)
    path = built.fs.resolve(blob_path(blob.hash))
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    os.chmod(path, 0o644)
    open(path, "wb").write(bytes(data))
    response = client.get(f"/movies/{MOVIE}/media/rev-0001/export/movie", headers={"Range": "bytes=0-99"})
    assert response.status_code != 206 and response.content[:100] != bytes(data[:100])
