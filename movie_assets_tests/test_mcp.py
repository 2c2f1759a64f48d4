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
