"""`movie-assets mcp`: the Model Context Protocol on stdio, a thin face over MovieStore for agents.

Tools make and steer movies (the same calls as the CLI); resources expose a movie's manifest,
timeline and artefacts (text inline, media as blob references). A refused call comes back as an
MCP tool error carrying the CLI's message.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from movie_assets.errors import InvalidValue, MovieAssetsError, NotFound, redact
from movie_assets.movie import MovieStore
from movie_assets.pipeline.blueprint.load import builtin_blueprints, load_blueprint, resolve_blueprint
from movie_assets.pipeline.blueprint.schema import Blueprint
from movie_assets.pipeline.prices import estimate
from movie_assets.settings import Settings
from movie_assets.store.blobs import blob_path
from movie_assets.store.models import RevisionId

TEXT_LIMIT = 20_000


def _refusals_as(error: type[Exception], fn: Callable) -> Callable:
    """`fn`, whose refusals reach the client as `error` with the CLI's one-line message."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MovieAssetsError as exc:
            raise error(redact(str(exc))) from None

    return wrapper


_PYDANTIC_LINE = re.compile(r"^(\S[^\n]*)\n\s+(.+?) \[type=", re.MULTILINE)


def one_line(text: str) -> str:
    """A tool error as one line: pydantic's argument errors (several lines and a URL) become
    `tool: argument: problem; ...`; anything else is kept, with its white space folded."""
    head, _, rest = text.partition(":")
    if not head.startswith("Error executing tool "):
        return " ".join(text.split())
    tool = head.removeprefix("Error executing tool ")
    if "validation error" in rest:
        problems = [f"{loc}: {msg}" for loc, msg in _PYDANTIC_LINE.findall(rest.split("\n", 1)[-1])]
        if problems:
            return f"{tool}: {'; '.join(problems)}"
    return f"{tool}: {' '.join(rest.split())}"


class OneLineErrors:
    """Middleware: a failed tool call's text is one line, as the CLI prints it."""

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        result = await call_next(ctx)
        if getattr(ctx, "method", None) == "tools/call" and isinstance(result, dict) and result.get("isError"):
            for item in result.get("content") or []:
                if isinstance(item, dict) and item.get("type") == "text":
                    item["text"] = one_line(str(item.get("text", "")))
        return result


class MovieTools:
    """What an agent may do; each method one MovieStore call, as the CLI makes it."""

    def __init__(self, settings: Settings, blueprint_folder: Path | None = None) -> None:
        self.settings = settings
        self.storage = settings.storage()
        self.folder = blueprint_folder.resolve() if blueprint_folder else None

    def _blueprint(self, name: str) -> Blueprint:
        """A shipped or registered blueprint by name, or a file inside the server's blueprint folder; an
        agent never names any other path (it could probe the server's files through the errors)."""
        registered = self.storage.registered_blueprints()
        if name in builtin_blueprints() or name in registered:
            return resolve_blueprint(name, registered)
        if self.folder is not None and name.endswith((".yaml", ".yml")) and "/" not in name and "\\" not in name:
            return load_blueprint(self.folder / name)
        known = ", ".join([*builtin_blueprints(), *registered])
        where = f", or a .yaml file name in {self.folder}" if self.folder else ""
        raise InvalidValue(f"no blueprint {name[:80]!r}: give one of {known}{where}")

    def _existing(self, movie: str) -> MovieStore:
        return self.settings.movie_store(movie, self.storage).require()

    def list_blueprints(self) -> list[dict]:
        """The shipped blueprints: name, version and what each makes."""
        return [
            {
                "name": n,
                "version": (bp := resolve_blueprint(n)).meta.version,
                "description": bp.meta.description.strip(),
            }
            for n in builtin_blueprints()
        ]

    def describe_blueprint(self, name: str) -> dict:
        """A blueprint's inputs (type, loop, default) and producers (version, loops, outputs)."""
        bp = self._blueprint(name)
        inputs = {k: {"type": s.type, "loop": s.loop, "default": s.default} for k, s in bp.inputs.items()}
        producers = {
            k: {"version": p.version, "loops": p.loops, "outputs": list(p.outputs)} for k, p in bp.producers.items()
        }
        return {"id": bp.meta.id, "inputs": inputs, "producers": producers}

    def create_movie(self, movie: str, blueprint: str, inputs: dict[str, Any]) -> dict:
        """Create a movie from a blueprint and its initial input values."""
        events = self.settings.movie_store(movie, self.storage).init(self._blueprint(blueprint), inputs)
        return {"movie": movie, "input_events": len(events)}

    def edit_inputs(self, movie: str, edits: dict[str, Any]) -> list[dict]:
        """Append input edits (e.g. {"SegmentText[1]": "..."}); regenerate applies them."""
        events = self._existing(movie).edit(edits, edited_by="mcp")
        return [{"id": e.id, "key": e.key, "value": e.value} for e in events]

    def plan(self, movie: str) -> dict:
        """What the next regenerate would run, why, and its estimated cost (price table); writes nothing."""
        store = self._existing(movie)
        result = store.plan()
        cost = estimate(result.jobs, self.settings.price_table())
        jobs = [
            {"job": j.job_id, "why": j.reasons, "estimated_cost_usd": cost.per_job.get(j.job_id)} for j in result.jobs
        ]
        return {
            "revision": str(result.revision),
            "jobs": jobs,
            "reused": result.reused,
            "estimated_cost_usd": cost.total,
            "jobs_without_estimate": cost.unpriced,
        }

    def regenerate(self, movie: str, max_cost: float | None = None) -> dict:
        """Plan, run the dirty producers and commit the next revision; returns it and what it cost.

        Nothing runs when the plan's estimate (see `plan`) is above `max_cost` (USD), or above the
        server's confirmation threshold without a `max_cost`: giving `max_cost` is consent up to it."""
        from movie_assets.pipeline.prices import check_spend
        from movie_assets.producers.registry import registry_from_environ

        if max_cost is not None and max_cost < 0:
            raise ToolError("max_cost is a number of USD, 0 or more")
        table, threshold = self.settings.price_table(), self.settings.confirm_above_usd

        def spend(plan) -> None:
            try:
                check_spend(plan.jobs, table, max_cost, threshold, approved=max_cost is not None)
            except MovieAssetsError as exc:
                raise ToolError(f"{exc}; call plan for the estimate, then regenerate with max_cost") from None

        produce = registry_from_environ(os.environ, self.settings.offline)
        outcome = self._existing(movie).regenerate(produce, on_plan=spend)
        if outcome.run is None:
            return {"committed": False, "revision": str(outcome.plan.base_revision), "message": "nothing to do"}
        if not outcome.committed:
            failed = {j: r.error for j, r in outcome.run.results.items() if r.status == "failed"}
            raise ToolError(f"run failed, nothing was published: {failed}")
        cost = sum(r.cost for r in outcome.run.results.values())
        return {"committed": True, "revision": str(outcome.pointer.revision), "cost_usd": round(cost, 6)}

    def show_revision(self, movie: str, revision: str | None = None) -> dict:
        """A revision's inputs and artefacts (mime type, size, blob hash); the live one by default."""
        store = self._existing(movie)
        manifest = store.manifests.load(RevisionId(revision)) if revision else store.current()[0]
        artefacts = {
            a: {"mime_type": e.blob.mime_type, "size": e.blob.size, "blob": e.blob.hash}
            for a, e in manifest.artefacts.items()
        }
        inputs = {k: e.value for k, e in manifest.inputs.items()}
        return {"revision": str(manifest.revision), "inputs": inputs, "artefacts": artefacts}

    def diff_revisions(self, movie: str, a: str, b: str) -> dict:
        """Inputs and artefacts that changed between two revisions."""
        d = self._existing(movie).diff(a, b)
        return {"added": d.added, "removed": d.removed, "changed": d.changed, "inputs_changed": d.inputs_changed}

    # ---- resources ------------------------------------------------------------------------------
    def manifest(self, movie: str) -> str:
        """The live manifest of a movie."""
        return self._existing(movie).current()[0].canonical().decode()

    def timeline(self, movie: str) -> str:
        """The live revision's timeline: tracks of clips with start, duration and blob."""
        timeline = self._existing(movie).current()[0].timeline
        return timeline.to_json().decode() if timeline else "null"

    def artefact(self, movie: str, artefact: str) -> str:
        """One artefact of the live revision ('~' stands for '/' in its id): text inline, media by blob."""
        store = self._existing(movie)
        artefact_id = artefact.replace("~", "/")
        entry = store.current()[0].artefacts.get(artefact_id)
        if entry is None:
            raise NotFound(f"no artefact {artefact_id!r} in the live revision")
        body: dict[str, Any] = {"artefact": artefact_id, "mime_type": entry.blob.mime_type, "blob": entry.blob.hash}
        if entry.blob.mime_type.startswith("text/"):
            body["text"] = store.blobs.get(entry.blob).decode("utf-8", errors="replace")[:TEXT_LIMIT]
        else:
            body.update(size=entry.blob.size, path=store.fs.resolve(blob_path(entry.blob.hash)))
        return json.dumps(body)


TOOLS = ["list_blueprints", "describe_blueprint", "create_movie", "edit_inputs", "plan", "regenerate"]
TOOLS += ["show_revision", "diff_revisions"]
RESOURCES = {
    "manifest": "movie://{movie}/manifest",
    "timeline": "movie://{movie}/timeline",
    "artefact": "movie://{movie}/artefacts/{artefact}",
}


def build_server(settings: Settings | None = None, blueprint_folder: Path | None = None) -> MCPServer:
    """The MCP server for the movies under the configured storage root. Blueprints are named (shipped or
    registered); a YAML file is taken only from `blueprint_folder`, when the server was given one."""
    tools = MovieTools(settings or Settings.load(), blueprint_folder)
    server = MCPServer(
        "movie_assets",
        instructions="Make, steer and inspect AI-made movies stored as revisions.",
        version=_version(),
        middleware=[OneLineErrors()],
    )
    for name in TOOLS:
        server.tool(name=name)(_refusals_as(ToolError, getattr(tools, name)))
    for name, uri in RESOURCES.items():
        server.resource(uri, name=name, mime_type="application/json")(_refusals_as(ResourceError, getattr(tools, name)))
    return server


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("movie_assets")
    except PackageNotFoundError:
        return "0+unknown"
