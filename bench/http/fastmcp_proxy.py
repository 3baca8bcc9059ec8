"""fastmcp's proxy (`fastmcp.server.create_proxy`) in front of a stdio server or a remote
server, over Streamable HTTP: python fastmcp_proxy.py PORT (COMMAND ARGS... | URL)"""

import sys

from fastmcp.client.transports import StdioTransport
from fastmcp.server import create_proxy

port, target, *arguments = sys.argv[1:]
backend = target if target.startswith("http") else StdioTransport(command=target, args=arguments)
create_proxy(backend).run(transport="http", host="127.0.0.1", port=int(port), show_banner=False)
