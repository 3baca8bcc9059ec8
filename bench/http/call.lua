-- wrk script: tools/call `echo` over Streamable HTTP, with ids unique across wrk's threads.
-- MCP_SESSIONS holds MCP session ids, space-separated: one that every thread uses, or one per
-- thread, so that each thread is a client of its own (and, with -c equal to -t, has its own
-- connection). MCP_TOKEN is the bearer token, if any.
local threads = {}
local count = 0
local sessions = {}
for id in string.gmatch(os.getenv("MCP_SESSIONS") or "", "%S+") do table.insert(sessions, id) end

function setup(thread)
  count = count + 1
  thread:set("tid", count)
  thread:set("session", sessions[count] or sessions[1] or "")
  table.insert(threads, thread)
end

function init(args)
  next_id = tid * 1000000000
  failures = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
  if session ~= "" then wrk.headers["Mcp-Session-Id"] = session end
  local token = os.getenv("MCP_TOKEN")
  if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
end

function request()
  next_id = next_id + 1
  local body = '{"jsonrpc":"2.0","id":' .. next_id ..
    ',"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}'
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"result"', 1, true) or string.find(body, '"isError":true', 1, true) then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("failures") end
  io.write(string.format("RESULT requests=%d failed=%d seconds=%.3f p50_us=%d p99_us=%d\n",
    summary.requests, failed, summary.duration / 1e6, latency:percentile(50), latency:percentile(99)))
end
