"""The HTTP benchmark's remote upstream: the Python SDK's MCPServer with one tool, `echo`,
over Streamable HTTP with JSON answers: python echo_http_server.py PORT"""

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    """Answers with its text."""
    return text


server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]), json_response=True)
