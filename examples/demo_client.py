"""A scripted MCP client session through Warden, for scripts/demo.

Either starts `warden run --policy examples/policies/time.yaml -- mcp-server-time` with the
Python MCP SDK's stdio client, or connects to `warden serve` with its Streamable HTTP client
and a grant token, as an agent would, and shows what the agent sees.
Usage: python examples/demo_client.py WARDEN_BINARY [warden run options...]
       python examples/demo_client.py --url http://127.0.0.1:8940/mcp/time --token TOKEN
"""

import asyncio
import sys
from contextlib import asynccontextmanager

from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


@asynccontextmanager
async def connect(arguments: list[str]):
    """The transport the arguments name: HTTP with --url and --token, else stdio through warden run."""
    if arguments[0] == "--url":
        url, token = arguments[1], arguments[3]
        async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as client:
            async with streamable_http_client(url, http_client=client) as (read, write):
                yield read, write
    else:
        warden, options = arguments[0], arguments[1:]
        server = StdioServerParameters(
            command=warden,
            args=["run", "--policy", "examples/policies/time.yaml", *options, "--", "mcp-server-time"],
        )
        async with stdio_client(server) as (read, write):
            yield read, write


def show(label: str, result) -> None:
    text = " ".join(" ".join(getattr(item, "text", "").split()) for item in result.content)
    status = "ERROR" if result.is_error else "ok"
    print(f"  {label:<46} {status:<6} {text}")


async def main() -> None:
    async with connect(sys.argv[1:]) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            print("tools the agent sees:", ", ".join(tool.name for tool in tools.tools))
            show("get_current_time Europe/Oslo", await session.call_tool("get_current_time", {"timezone": "Europe/Oslo"}))
            show("get_current_time with a shell injection", await session.call_tool("get_current_time", {"timezone": "x; rm -rf /"}))
            show("convert_time to Antarctica/Troll", await session.call_tool(
                "convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Antarctica/Troll"}))
            try:
                await session.call_tool("set_time", {"time": "00:00"})
            except MCPError as error:
                print(f"  {'set_time (not a tool of this server)':<46} error  {error}")
            allowed = 1
            while True:
                result = await session.call_tool("get_current_time", {"timezone": "UTC"})
                if result.is_error:
                    show(f"get_current_time call {allowed + 1} this minute", result)
                    break
                allowed += 1


asyncio.run(main())
