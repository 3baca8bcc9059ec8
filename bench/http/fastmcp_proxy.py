"""fastmcp's proxy (`fastmcp.server.create_proxy`) in front of a stdio server, over Streamable
HTTP: python fastmcp_proxy.py PORT COMMAND ARGS..."""

import sys

from fastmcp.client.transports import StdioTransport
from fastmcp.server import create_proxy

port, command, *arguments = sys.argv[1:]
create_proxy(StdioTransport(command=command, args=arguments)).run(transport="http", host="127.0.0.1", port=int(port), show_banner=False)
