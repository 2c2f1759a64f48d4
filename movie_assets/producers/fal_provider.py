"""fal through its official client (`fal-client`): images, video clips and music from fal's queue.

A request is submitted to the app (the job's model, e.g. `fal-ai/flux/schnell`), its status polled
until it completes (with a timeout) and cancelled if we give up or are interrupted; the first file
URL in the result is streamed into the blob store with a size cap and a content check. The client's
own retry loop handles rate limits and gateway errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from movie_assets.errors import InvalidPlugin
from movie_assets.pipeline.prices import shipped_prices
from movie_assets.pipeline.produce import ProduceFn, ProduceRequest, ProduceResult
from movie_assets.producers.remote import Fetcher, ProviderError, cancelled_on_failure

PROVIDER = "fal"
DEFAULT_APPS = {
    "image": "fal-ai/flux/schnell",
    "video_clip": "fal-ai/kling-video/v2.1/standard/text-to-video",
    "music": "fal-ai/stable-audio",
}
APP_INPUTS: dict[str, Callable[[ProduceRequest], dict[str, Any]]] = {
    "image": lambda r: {"prompt": r.value("prompt"), "image_size": "landscape_16_9"},
    "video_clip": lambda r: {"prompt": r.value("prompt"), "duration": "5", "aspect_ratio": "16:9"},
    "music": lambda r: {"prompt": r.value("prompt"), "seconds_total": 30},
}


def fal_producers(credentials: Mapping[str, str]) -> dict[str, ProduceFn]:
    """image, video_clip and music, each one fal queue request."""
    try:
        import fal_client
    except ImportError:
        raise InvalidPlugin("the fal provider needs its client: pip install 'movie_assets[fal]'") from None
    client = fal_client.SyncClient(key=credentials["FAL_KEY"])
    fetcher = Fetcher(credentials)

    def producer(implementation: str) -> ProduceFn:
        def produce(request: ProduceRequest) -> ProduceResult:
            job = request.job
            app = job.model or DEFAULT_APPS[implementation]
            arguments = {**APP_INPUTS[implementation](request), **job.params.get("input", {})}
            result, request_id = _settle(fal_client, client, app, arguments, fetcher)
            output = job.outputs[0]
            where = f"{app} request {request_id}"
            data = fetcher.fetch(_first_url(result, where), output.mime_type, where)
            usd = shipped_prices().price(PROVIDER, app, implementation)
            diagnostics = {"provider": PROVIDER, "model": app, "request": request_id}
            return ProduceResult({output.name: data}, cost=usd or 0.0, diagnostics=diagnostics)

        return produce

    return {name: producer(name) for name in DEFAULT_APPS}


def _settle(sdk, client, app: str, arguments: dict[str, Any], fetcher: Fetcher) -> tuple[Any, str]:
    """Submit, wait for completion (cancelling on timeout or interruption), return (result, request id)."""
    try:
        handle = client.submit(app, arguments=arguments)
    except Exception as exc:  # the client's HTTP errors, after its own retries
        raise ProviderError(f"{app}: request refused: {_detail(exc)}") from None
    deadline = time.monotonic() + fetcher.timeout
    try:
        with cancelled_on_failure(handle.cancel):
            while not isinstance(handle.status(), sdk.Completed):
                if time.monotonic() > deadline:
                    raise ProviderError(f"{app} request {handle.request_id} not done after {fetcher.timeout:g} s")
                time.sleep(fetcher.poll)
            return handle.get(), handle.request_id
    except ProviderError:
        raise
    except Exception as exc:  # the client's errors while polling or fetching the result, named
        raise ProviderError(f"{app} request {handle.request_id}: {_detail(exc)}") from None


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
