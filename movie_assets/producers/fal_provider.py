"""fal through its official client (`fal-client`): images, video clips and music from fal's queue.

A request is submitted to the app (the job's model, e.g. `fal-ai/flux/schnell`), its status polled
until it completes (with a timeout) and cancelled if we give up or are interrupted; the first file
URL in the result is streamed into the blob store with a size cap and a content check. The client's
own retry loop handles rate limits and gateway errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from movie_assets.errors import InvalidPlugin
from movie_assets.pipeline.produce import ProduceFn, ProduceRequest
from movie_assets.producers.providers import TIMEOUT_SETTING, Provider
from movie_assets.producers.remote import Fetcher, Finished, ProviderError, cancelled_on_failure, media_producers

NAME = "fal"
DEFAULT_APPS = {
    "image": "fal-ai/flux/schnell",
    "video_clip": "fal-ai/kling-video/v2.1/standard/text-to-video",
    "music": "fal-ai/stable-audio",
}
IMAGE_SIZES = {"16:9": "landscape_16_9", "9:16": "portrait_16_9", "1:1": "square_hd", "4:3": "landscape_4_3"}


def _video_inputs(request: ProduceRequest) -> dict[str, Any]:
    """A shot's prompt, its length rounded up to what the app takes ("5" or "10" s) and the aspect ratio."""
    import movie_assets.producers.media as media  # numpy and Pillow: only when a clip is made

    seconds = media.shot_seconds(request, 5.0)
    aspect = str(request.value("aspect") or "16:9")
    return {
        "prompt": request.value("prompt"),
        "duration": str(media.allowed_duration(seconds, (5, 10))),
        "aspect_ratio": aspect,
    }


APP_INPUTS: dict[str, Callable[[ProduceRequest], dict[str, Any]]] = {
    "image": lambda r: {"prompt": r.value("prompt"), "image_size": IMAGE_SIZES.get(r.value("aspect") or "16:9")},
    "video_clip": _video_inputs,
    "music": lambda r: {"prompt": r.value("prompt"), "seconds_total": min(max(int(r.value("seconds") or 30), 1), 47)},
}


def fal_producers(credentials: Mapping[str, str]) -> dict[str, ProduceFn]:
    """image, video_clip and music, each one fal queue request."""
    try:
        import fal_client
    except ImportError:
        raise InvalidPlugin("the fal provider needs its client: pip install 'movie_assets[fal]'") from None
    # fal's client retries 408, 409, 429 and lost connections itself, up to its own fixed attempt count
    # (fal_client.client.MAX_ATTEMPTS): it offers no per-client setting, so the attempts setting cannot
    # reach it; our timeout bounds each of its requests
    client = fal_client.SyncClient(key=credentials["FAL_KEY"], default_timeout=_timeout(credentials))
    fetcher = Fetcher(credentials)
    return media_producers(
        NAME, DEFAULT_APPS, APP_INPUTS, lambda a, i: _settle(fal_client, client, a, i, fetcher), fetcher
    )


def _settle(sdk, client, app: str, arguments: dict[str, Any], fetcher: Fetcher) -> Finished:
    """Submit, wait for completion (cancelling on timeout or interruption), and name the result."""
    try:
        handle = client.submit(app, arguments=arguments)
    except Exception as exc:  # the client's HTTP errors, after its own retries
        raise ProviderError(f"{app}: request refused: {_detail(exc)}") from None
    where = f"{app} request {handle.request_id}"
    try:
        with cancelled_on_failure(handle.cancel):
            fetcher.wait(lambda: isinstance(handle.status(), sdk.Completed), lambda: f"{where} not done")
            result = handle.get()
    except ProviderError:
        raise
    except Exception as exc:  # the client's errors while polling or fetching the result, named
        raise ProviderError(f"{where}: {_detail(exc)}") from None
    return Finished(_first_url(result, where), where, {"request": handle.request_id})


def _detail(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(exc, "status_code", None)
    return f"HTTP {status}: {str(exc)[:200]}" if status else f"{type(exc).__name__}: {str(exc)[:200]}"


def _first_url(result: Any, where: str) -> str:
    """The first file URL anywhere in a fal result ({"images": [{"url": ...}]}, {"video": {"url": ...}})."""
    todo = [result]
    while todo:
        item = todo.pop(0)
        if isinstance(item, dict):
            url = item.get("url")
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                return url
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    raise ProviderError(f"{where}: no file URL in {str(result)[:200]}")


def _timeout(credentials: Mapping[str, str]) -> float:
    return float(credentials.get(TIMEOUT_SETTING) or 120)


# a request id no queue holds: asking for its status proves the key (401/403 if refused, 404 if accepted)
CHECK_APP, CHECK_REQUEST = "fal-ai/flux/schnell", "00000000-0000-4000-8000-000000000000"


def check(credentials: Mapping[str, str]) -> str:
    """Ask the queue for the status of a request that does not exist: authenticated, free."""
    import fal_client
    from fal_client.client import FalClientHTTPError

    client = fal_client.SyncClient(key=credentials["FAL_KEY"], default_timeout=_timeout(credentials))
    try:
        client.status(CHECK_APP, CHECK_REQUEST)
    except FalClientHTTPError as exc:
        if exc.status_code != 404:
            raise
    return "key accepted by the queue"


PROVIDER = Provider(NAME, ("FAL_KEY",), fal_producers, "image, video_clip, music", (), check)
