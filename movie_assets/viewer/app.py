"""`movie-assets view`: a Starlette app over MovieStore, like the CLI a thin face with no logic of its own.

Pages are rendered on the server (Jinja2); the only script is the vendored static/app.js that polls
a run's progress. Every POST carries a CSRF token bound to the browser's own session (guard.py, with
the Host, Origin and body rules), ids are validated by the store's own rules, and unknown movies,
revisions or artefacts are a 404 page. A plan above the confirmation threshold runs only once its
estimate was shown and accepted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

import movie_assets.viewer.media as media
import movie_assets.viewer.views as views
from movie_assets.errors import InvalidId, InvalidValue, MovieAssetsError, NotFound, UnknownMovie
from movie_assets.lifecycle.exports import captions_path
from movie_assets.lifecycle.history import movie_row
from movie_assets.movie import MovieStore
from movie_assets.pipeline.prices import ConsentNeeded, check_spend
from movie_assets.pipeline.produce import ProduceFn
from movie_assets.pipeline.steering import pin_key, take_key
from movie_assets.settings import Settings
from movie_assets.store.models import RevisionId
from movie_assets.store.paths import validate_artefact_id
from movie_assets.viewer.guard import SESSION_COOKIE, BodyTooLarge, Guard, Sessions
from movie_assets.viewer.provenance import provenance
from movie_assets.viewer.runs import Regenerations

HERE = Path(__file__).parent
MAX_FORM_BYTES = 1024 * 1024
MAX_UPLOAD_BYTES = 64 * 1024 * 1024


def create_app(
    settings: Settings | None = None,
    produce_factory: Callable[[], ProduceFn] | None = None,
    dagster_url: str | None = None,
    allowed_hosts: Iterable[str] = (),
) -> Starlette:
    """The viewer for every movie under the configured storage root; it answers loopback host names and
    `allowed_hosts` only."""
    viewer = Viewer(settings or Settings.load(), produce_factory, dagster_url)
    routes = [
        Route("/", viewer.index),
        Route("/movies/{movie}", viewer.movie_page),
        Route("/movies/{movie}/history", viewer.history_page),
        Route("/movies/{movie}/diff", viewer.diff_page),
        Route("/movies/{movie}/artefacts/{artefact:path}", viewer.artefact_page),
        Route("/movies/{movie}/media/{revision}/{artefact:path}", viewer.media_file),
        Route("/movies/{movie}/edit", viewer.edit, methods=["POST"]),
        Route("/movies/{movie}/regenerate", viewer.regenerate, methods=["POST"]),
        Route("/movies/{movie}/override", viewer.override, methods=["POST"]),
        Route("/movies/{movie}/unpin", viewer.unpin, methods=["POST"]),
        Route("/movies/{movie}/reroll", viewer.reroll, methods=["POST"]),
        Route("/movies/{movie}/progress", viewer.progress),
        Route("/movies/{movie}/captions/{revision}.vtt", viewer.captions),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    handlers = {NotFound: viewer.not_found, InvalidId: viewer.not_found, UnknownMovie: viewer.not_found}
    handlers.update({MovieAssetsError: viewer.refused, HTTPException: viewer.refused, ValueError: viewer.refused})
    handlers[BodyTooLarge] = viewer.refused
    guard = Middleware(
        Guard,
        sessions=viewer.sessions,
        allowed_hosts=allowed_hosts,
        form_limit=MAX_FORM_BYTES,
        upload_limit=MAX_UPLOAD_BYTES + MAX_FORM_BYTES,
    )
    app = Starlette(routes=routes, exception_handlers=handlers, middleware=[guard])  # type: ignore[arg-type]
    app.state.runs = viewer.runs
    return app


class Viewer:
    """The pages and actions; each one a MovieStore call and a template."""

    def __init__(
        self, settings: Settings, produce_factory: Callable[[], ProduceFn] | None, dagster_url: str | None
    ) -> None:
        self.settings = settings
        self.storage = settings.storage()
        self.dagster_url = dagster_url.rstrip("/") if dagster_url else None
        self.sessions = Sessions()
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.runs = Regenerations(produce_factory or self._default_produce, settings)

    def _default_produce(self) -> ProduceFn:
        from movie_assets.producers.registry import registry_from_environ

        return registry_from_environ(os.environ, self.settings.offline)

    # ---- helpers --------------------------------------------------------------------------------
    def store_of(self, movie: str) -> MovieStore:
        return self.settings.movie_store(movie, self.storage).require()

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        session = request.cookies.get(SESSION_COOKIE) or ""
        fresh = len(session) != 64
        session = Sessions.new() if fresh else session
        context.update(request=request, csrf=self.sessions.token(session), dagster_url=self.dagster_url)
        context.setdefault("title", "")
        response = self.templates.TemplateResponse(request, name, context, status_code=status)
        if fresh:
            response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict")
        return response

    async def checked_form(self, request: Request, limit: int = MAX_FORM_BYTES) -> dict[str, Any]:
        if int(request.headers.get("content-length") or 0) > limit:
            raise InvalidValue(f"the upload is over the {limit // (1024 * 1024)} MiB limit")
        form = await request.form(max_part_size=limit)
        if not self.sessions.valid(request.cookies.get(SESSION_COOKIE, ""), str(form.get("csrf", ""))):
            raise HTTPException(403, "the form's CSRF token is missing or stale: reload the page")
        return {k: v if hasattr(v, "read") else str(v) for k, v in form.items()}

    # ---- pages ----------------------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        rows = [movie_row(self.settings.movie_store(m, self.storage)) for m in self.storage.list_movies()]
        return self.render(request, "index.html", movies=rows, root=self.storage.root, title="Movies")

    async def movie_page(self, request: Request) -> Response:
        store = self.store_of(request.path_params["movie"])
        revision = request.query_params.get("revision")
        view = views.movie_view(store, RevisionId(revision) if revision else None)
        return self.render(request, "movie.html", view=view, run=self.runs.get(store.movie_id), title=store.movie_id)

    async def history_page(self, request: Request) -> Response:
        store = self.store_of(request.path_params["movie"])
        rows = views.history_rows(store)
        return self.render(request, "history.html", movie=store.movie_id, rows=rows, title=f"{store.movie_id}: history")

    async def diff_page(self, request: Request) -> Response:
        store = self.store_of(request.path_params["movie"])
        revisions = [str(r) for r in store.manifests.history()]
        if len(revisions) < 2:
            raise NotFound(f"{store.movie_id} has one revision: nothing to compare")
        a = RevisionId(request.query_params.get("a") or revisions[-2])
        b = RevisionId(request.query_params.get("b") or revisions[-1])
        result = store.diff(a, b)
        changes = views.diff_media(store, result)
        title = f"{store.movie_id}: {a} → {b}"
        context = {"movie": store.movie_id, "diff": result, "changes": changes, "revisions": revisions}
        return self.render(request, "diff.html", title=title, **context)

    async def artefact_page(self, request: Request) -> Response:
        store = self.store_of(request.path_params["movie"])
        artefact_id = validate_artefact_id(request.path_params["artefact"])
        revision = request.query_params.get("revision")
        manifest, _ = views.load_revision(store, RevisionId(revision) if revision else None)
        info = provenance(store, manifest, artefact_id)
        steering = store.effective_inputs()
        pending_pin = steering.get(pin_key(artefact_id))
        take = steering.get(take_key(info.media.job_id)) or 0
        context = {"info": info, "movie": store.movie_id, "pinned": pending_pin, "take": take}
        return self.render(request, "artefact.html", title=artefact_id, **context)

    async def media_file(self, request: Request) -> Response:
        store = self.store_of(request.path_params["movie"])
        manifest = store.manifests.load(RevisionId(request.path_params["revision"]))
        artefact_id = validate_artefact_id(request.path_params["artefact"])
        entry = manifest.artefacts.get(artefact_id)
        if entry is None:
            raise NotFound(f"{manifest.revision} has no artefact {artefact_id!r}")
        return await media.blob_response(request, store.blobs, entry.blob)

    # ---- actions --------------------------------------------------------------------------------
    async def edit(self, request: Request) -> Response:
        store = self.store_of(request.path_params["movie"])
        form = await self.checked_form(request)
        key, value = form.get("key", ""), form.get("value", "")
        spec = store.blueprint().inputs.get(key.split("[", 1)[0])
        typed: Any = _scalar(spec.type, value) if spec is not None and spec.type in ("int", "float", "bool") else value
        store.edit({key: typed}, edited_by="viewer")
        return RedirectResponse(f"/movies/{store.movie_id}#inputs", status_code=303)

    async def regenerate(self, request: Request) -> Response:
        """Start the movie's run, or join the one going; above the confirmation threshold, show the
        estimate and run only when the form comes back with it accepted."""
        store = self.store_of(request.path_params["movie"])
        form = await self.checked_form(request)
        approved = _usd(form.get("approved_usd"))
        if self.runs.get(store.movie_id) is None or self.runs.get(store.movie_id).as_json()["finished"]:
            plan = store.plan()
            table, threshold = self.settings.price_table(), self.settings.confirm_above_usd
            try:
                check_spend(plan.jobs, table, approved, threshold, approved=approved is not None)
            except ConsentNeeded as exc:
                title = f"{store.movie_id}: confirm the spend"
                context = {"movie": store.movie_id, "cost": exc.cost, "revision": plan.revision, "jobs": len(plan.jobs)}
                return self.render(request, "confirm.html", title=title, threshold=threshold, **context)
        self.runs.start(store, approved)
        return RedirectResponse(f"/movies/{store.movie_id}#progress", status_code=303)

    async def override(self, request: Request) -> Response:
        store = self.store_of(request.path_params["movie"])
        form = await self.checked_form(request, MAX_UPLOAD_BYTES)
        artefact_id, upload = str(form.get("artefact", "")), form.get("file")
        if upload is None or not hasattr(upload, "read"):
            raise InvalidValue("choose a file to upload")
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise InvalidValue(f"the upload is over the {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB limit")
        store.override(artefact_id, data, edited_by="viewer")
        return RedirectResponse(f"/movies/{store.movie_id}/artefacts/{artefact_id}", status_code=303)

    async def unpin(self, request: Request) -> Response:
        store = self.store_of(request.path_params["movie"])
        artefact_id = (await self.checked_form(request)).get("artefact", "")
        store.unpin(artefact_id, edited_by="viewer")
        return RedirectResponse(f"/movies/{store.movie_id}/artefacts/{artefact_id}", status_code=303)

    async def reroll(self, request: Request) -> Response:
        store = self.store_of(request.path_params["movie"])
        form = await self.checked_form(request)
        store.reroll(form.get("job", ""), edited_by="viewer")
        return RedirectResponse(f"/movies/{store.movie_id}#progress", status_code=303)

    async def captions(self, request: Request) -> Response:
        store = self.store_of(request.path_params["movie"])
        manifest = store.manifests.load(RevisionId(request.path_params["revision"]))
        text = store.fs.read(captions_path(manifest))  # NotFound: the viewer's 404 page
        return Response(text, media_type="text/vtt; charset=utf-8", headers={"Cache-Control": media.CACHE})

    async def progress(self, request: Request) -> Response:
        store = self.store_of(request.path_params["movie"])
        state = self.runs.get(store.movie_id)
        return JSONResponse(state.as_json() if state else {"movie": store.movie_id, "status": "idle"})

    # ---- errors ---------------------------------------------------------------------------------
    async def not_found(self, request: Request, exc: Exception) -> Response:
        return self.render(request, "error.html", status=404, message=str(exc), title="Not found")

    async def refused(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 413 if isinstance(exc, BodyTooLarge) else 400
        message = exc.detail if isinstance(exc, HTTPException) else str(exc)
        title = "Not found" if status == 404 else "Refused"
        return self.render(request, "error.html", status=status, message=message, title=title)


def _usd(text: Any) -> float | None:
    """The amount a person accepted on the confirmation page, if any."""
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        raise InvalidValue(f"{text!r} is not an amount of USD") from None
    if value is not None and not value >= 0:  # NaN too
        raise InvalidValue(f"{text!r} is not an amount of USD")
    return value


def _scalar(kind: str, text: str) -> Any:
    """Form text to the input's type (forms only send strings)."""
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise InvalidValue(f"{text!r} is not a number") from None
    return text.strip().lower() in ("1", "true", "yes", "on")
