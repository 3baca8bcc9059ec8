"""`warden serve` with identities from an identity provider's JWTs, verified against its JWKS
(a file, or a URL), with claims mapped to the identity's name and labels."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import audit, wait_for
from test_http_gateway import INITIALIZE, Gateway, bearer, http, mcp_session, text_of

TEAM_POLICY = """
version: "1"
default: deny
tools:
  get_current_time:
    require:
      - {path: identity.labels.team, op: eq, value: payments}
"""


class Provider:
    """An identity provider: a signing key, its JWKS, and tokens."""

    def __init__(self, kid: str = "key-1"):
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def token(self, **claims) -> str:
        now = int(time.time())
        payload = {"iss": "https://idp.test", "aud": "warden", "sub": "alice", "iat": now, "exp": now + 300, **claims}
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": self.kid})


def jwt_config(keys: str) -> str:
    return f"""auth:
  jwt:
    {keys}
    issuer: https://idp.test
    audience: warden
    label_claims: {{team: team}}
    servers: [time]
    policy: team.yaml
"""


@pytest.fixture
def provider():
    return Provider()


@pytest.fixture
def jwt_gateway(warden, env, tmp_path, provider):
    (tmp_path / "jwks.json").write_text(json.dumps(provider.jwks()))
    (tmp_path / "team.yaml").write_text(TEAM_POLICY)
    running = Gateway(warden, env, tmp_path, extra=jwt_config("jwks_file: jwks.json"))
    yield running
    running.stop()


@pytest.mark.anyio
async def test_claims_become_the_identity_policies_see(jwt_gateway, provider):
    async with mcp_session(jwt_gateway.url("time"), provider.token(team="payments")) as session:
        allowed = await session.call_tool("get_current_time", {"timezone": "UTC"})
        assert not allowed.is_error, text_of(allowed)
    async with mcp_session(jwt_gateway.url("time"), provider.token(sub="bob", team="marketing")) as session:
        denied = await session.call_tool("get_current_time", {"timezone": "UTC"})
        assert denied.is_error and "identity.labels.team" in text_of(denied)
    wait_for(lambda: len(audit(jwt_gateway.warden, jwt_gateway.db)) == 2)
    records = audit(jwt_gateway.warden, jwt_gateway.db)
    assert sorted((r["identity"], r["decision"]) for r in records) == [("alice", "allow"), ("bob", "deny")]


def test_bad_tokens_get_401_and_reach_nothing(jwt_gateway, provider):
    stranger = Provider(kid=provider.kid)
    cases = {
        "expired": provider.token(exp=int(time.time()) - 600),
        "no expiry": provider.token(exp=None),
        "another audience": provider.token(aud="someone-else"),
        "another issuer": provider.token(iss="https://evil.test"),
        "another key": stranger.token(),
        "tampered": provider.token()[:-4] + "AAAA",
        "not a JWT": "hello",
    }
    for case, token in cases.items():
        status, headers, body = http("POST", jwt_gateway.url("time"), INITIALIZE, bearer(token))
        assert status == 401, (case, body)
        assert 'error="invalid_token"' in headers["www-authenticate"], case
    # A valid token reaches only the servers auth.jwt names.
    assert http("POST", jwt_gateway.url("echo"), INITIALIZE, bearer(provider.token(team="payments")))[0] == 403
    assert http("POST", jwt_gateway.url("time"), INITIALIZE, bearer(provider.token(team="payments")))[0] == 200
    # Grant tokens keep working beside JWTs.
    grant = jwt_gateway.grant("agent", "all_time.yaml", "time")
    assert http("POST", jwt_gateway.url("time"), INITIALIZE, bearer(grant))[0] == 200
    assert audit(jwt_gateway.warden, jwt_gateway.db) == []


def test_keys_from_a_jwks_url(warden, env, tmp_path, provider):
    document = json.dumps(provider.jwks()).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *arguments):
            pass

    server = HTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (tmp_path / "team.yaml").write_text(TEAM_POLICY)
    gateway = Gateway(warden, env, tmp_path, extra=jwt_config(f"jwks_url: http://127.0.0.1:{server.server_port}/jwks.json"))
    try:
        assert http("POST", gateway.url("time"), INITIALIZE, bearer(provider.token(team="payments")))[0] == 200
        assert http("POST", gateway.url("time"), INITIALIZE, bearer(Provider().token()))[0] == 401
    finally:
        gateway.stop()
        server.shutdown()
