"""An agent through the official MCP SDK's stdio client: create a movie, plan, regenerate, read it."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def _session_run(root: str, steps):
    env = {**os.environ, "MOVIE_ASSETS_ROOT": root, "MOVIE_ASSETS_OFFLINE": "1"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "movie_assets.cli", "mcp"], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await steps(session)


def _json(result):
    """A tool's answer: its structured content (lists come wrapped as {"result": [...]})."""
    assert not result.is_error, result.content
    data = result.structured_content
    if data is None:  # a tool whose return annotation gives no output schema answers in text
        return json.loads(result.content[0].text)
    return data["result"] if set(data) == {"result"} else data


def test_an_agent_creates_plans_regenerates_and_reads_a_movie(tmp_path):
    async def steps(session):
        tools = {t.name for t in (await session.list_tools()).tools}
        shipped = {b["name"] for b in _json(await session.call_tool("list_blueprints", {}))}
        assert {"audio-only", "image-audio", "video-audio-music"} <= shipped
        assert tools >= {"list_blueprints", "describe_blueprint", "create_movie", "edit_inputs", "plan"}
        assert tools >= {"regenerate", "show_revision", "diff_revisions"}
        created = _json(
            await session.call_tool(
                "create_movie",
                {
                    "movie": "agentfilm",
                    "blueprint": "audio-only",
                    "inputs": {"Title": "Made by an agent", "NumOfSegments": 2},
                },
            )
        )
        assert created["input_events"] >= 2
        plan = _json(await session.call_tool("plan", {"movie": "agentfilm"}))
        assert plan["revision"] == "rev-0001" and len(plan["jobs"]) > 3
        assert plan["estimated_cost_usd"] > 0 and plan["jobs_without_estimate"] == [], "priced before any run"
        done = _json(await session.call_tool("regenerate", {"movie": "agentfilm"}))
        assert done["committed"] and done["revision"] == "rev-0001"
        assert done["cost_usd"] == pytest.approx(plan["estimated_cost_usd"]), "the estimate is what it then cost"
        _json(
            await session.call_tool(
                "edit_inputs", {"movie": "agentfilm", "edits": {"SegmentText[1]": "A second scene."}}
            )
        )
        replan = _json(await session.call_tool("plan", {"movie": "agentfilm"}))
        assert replan["estimated_cost_usd"] > 0 and replan["jobs_without_estimate"] == []
        again = _json(await session.call_tool("regenerate", {"movie": "agentfilm"}))
        assert again["revision"] == "rev-0002"
        changes = _json(
            await session.call_tool("diff_revisions", {"movie": "agentfilm", "a": "rev-0001", "b": "rev-0002"})
        )
        assert "segment-0001/script/text" in changes["changed"] and "SegmentText[1]" in changes["inputs_changed"]
        text = await session.read_resource("movie://agentfilm/artefacts/segment-0001~script~text")
        assert json.loads(text.contents[0].text)["text"] == "A second scene."
        manifest = json.loads((await session.read_resource("movie://agentfilm/manifest")).contents[0].text)
        assert manifest["revision"] == "rev-0002"
        refused = await session.call_tool("edit_inputs", {"movie": "agentfilm", "edits": {"SegmentText[7]": "x"}})
        assert refused.is_error and "NumOfSegments is 2" in refused.content[0].text
        missing = await session.call_tool("show_revision", {"movie": "nosuch"})
        assert missing.is_error and "no movie 'nosuch'" in missing.content[0].text
        return None

    asyncio.run(_session_run(str(tmp_path / "builds"), steps))


def test_hostile_calls_get_one_clear_line_and_nothing_is_spent_unasked(tmp_path):
    from mcp.shared.exceptions import MCPError

    secret = tmp_path / "secret.yaml"
    secret.write_text("private: value\n")

    async def steps(session):
        made = await session.call_tool(
            "create_movie", {"movie": "film", "blueprint": "audio-only", "inputs": {"Title": "T", "NumOfSegments": 2}}
        )
        assert not made.is_error, made.content
        for name in ("/etc/passwd", str(secret), "../../etc/passwd"):
            probed = await session.call_tool("describe_blueprint", {"name": name})
            text = probed.content[0].text
            assert probed.is_error and "no blueprint" in text and "private" not in text, text
        plan = _json(await session.call_tool("plan", {"movie": "film"}))
        assert plan["estimated_cost_usd"] > 0
        unasked = await session.call_tool("regenerate", {"movie": "film"})
        assert unasked.is_error and "needs consent" in unasked.content[0].text, unasked.content
        capped = await session.call_tool("regenerate", {"movie": "film", "max_cost": plan["estimated_cost_usd"] / 2})
        assert capped.is_error and "above max cost" in capped.content[0].text, capped.content
        bad = await session.call_tool("regenerate", {"movie": "film", "max_cost": "lots"})
        line = bad.content[0].text
        assert bad.is_error and "\n" not in line and "max_cost" in line and "http" not in line, line
        missing_arg = await session.call_tool("plan", {})
        assert missing_arg.is_error and "\n" not in missing_arg.content[0].text, missing_arg.content
        shown = _json(await session.call_tool("show_revision", {"movie": "film"}))
        assert shown["revision"] == "rev-0000", "nothing was committed: nothing ran"
        done = _json(await session.call_tool("regenerate", {"movie": "film", "max_cost": plan["estimated_cost_usd"]}))
        assert done["committed"]
        for uri in ("movie://nosuch/manifest", "movie://" + "x" * 5000 + "/manifest", "movie://film/artefacts/..~..~x"):
            try:
                await session.read_resource(uri)
            except MCPError as exc:
                assert str(exc) and "\n" not in str(exc) and "Traceback" not in str(exc), str(exc)
            else:
                raise AssertionError(f"{uri[:40]} was answered")
        return session

    env_root = str(tmp_path / "builds")
    os.environ["MOVIE_ASSETS_CONFIRM_ABOVE_USD"] = "0"
    try:
        asyncio.run(_session_run(env_root, steps))
    finally:
        del os.environ["MOVIE_ASSETS_CONFIRM_ABOVE_USD"]


def test_the_server_reports_its_version(tmp_path):
    from importlib.metadata import version

    async def steps(session):
        return session

    async def run():
        env = {**os.environ, "MOVIE_ASSETS_ROOT": str(tmp_path), "MOVIE_ASSETS_OFFLINE": "1"}
        params = StdioServerParameters(command=sys.executable, args=["-m", "movie_assets.cli", "mcp"], env=env)
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            info = await session.initialize()
            return info.server_info

    info = asyncio.run(run())
    assert info.name == "movie_assets" and info.version == version("movie_assets")
