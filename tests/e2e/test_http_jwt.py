"""`warden serve` with identities from an identity provider's JWTs, verified against its JWKS
(a file, or a URL), with claims mapped to the identity's name and labels."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import anyio
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

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

    def __init__(self, kid: str = "key-1", algorithm: str = "RS256"):
        self.kid, self.algorithm = kid, algorithm
        if algorithm.startswith(("RS", "PS")):
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.to_jwk = jwt.algorithms.RSAAlgorithm.to_jwk
        elif algorithm.startswith("ES"):
            curve = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}[algorithm]
            self.key = ec.generate_private_key(curve())
            self.to_jwk = jwt.algorithms.ECAlgorithm.to_jwk
        else:
            self.key = ed25519.Ed25519PrivateKey.generate()
            self.to_jwk = jwt.algorithms.OKPAlgorithm.to_jwk

    def jwks(self) -> dict:
        public = json.loads(self.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": self.algorithm, "use": "sig"}]}

    def token(self, kid: str | None = None, **claims) -> str:
        now = int(time.time())
        payload = {"iss": "https://idp.test", "aud": "warden", "sub": "alice", "iat": now, "exp": now + 300, **claims}
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, self.key, algorithm=self.algorithm, headers={"kid": kid or self.kid})


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


@pytest.mark.parametrize("algorithm", ["RS256", "RS512", "PS256", "ES256", "ES384", "EdDSA"])
def test_the_accepted_signing_algorithms(warden, env, tmp_path, algorithm):
    provider = Provider(algorithm=algorithm)
    (tmp_path / "jwks.json").write_text(json.dumps(provider.jwks()))
    (tmp_path / "team.yaml").write_text(TEAM_POLICY)
    gateway = Gateway(warden, env, tmp_path, extra=jwt_config("jwks_file: jwks.json"))
    try:
        assert http("POST", gateway.url("time"), INITIALIZE, bearer(provider.token(team="payments")))[0] == 200
        # A token a minute past its expiry is still accepted (clock leeway); two minutes past, not.
        assert http("POST", gateway.url("time"), INITIALIZE, bearer(provider.token(exp=int(time.time()) - 30)))[0] == 200
        assert http("POST", gateway.url("time"), INITIALIZE, bearer(provider.token(exp=int(time.time()) - 120)))[0] == 401
    finally:
        gateway.stop()


class RotatingJWKS:
    """A JWKS URL whose document can be replaced, counting how often it is fetched."""

    def __init__(self, document: dict):
        self.document = json.dumps(document).encode()
        self.fetches = 0
        keys = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                keys.fetches += 1
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(keys.document)

            def log_message(self, *arguments):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks.json"

    def publish(self, *providers: Provider) -> None:
        self.document = json.dumps({"keys": [key for provider in providers for key in provider.jwks()["keys"]]}).encode()


def test_a_key_rotated_in_is_accepted_at_once_and_unknown_keys_cannot_hammer_the_provider(warden, env, tmp_path):
    old, new = Provider(kid="key-1"), Provider(kid="key-2")
    keys = RotatingJWKS(old.jwks())
    (tmp_path / "team.yaml").write_text(TEAM_POLICY)
    gateway = Gateway(warden, env, tmp_path, extra=jwt_config(f"jwks_url: {keys.url}\n    jwks_refetch_interval: 3s"))
    try:
        assert http("POST", gateway.url("time"), INITIALIZE, bearer(old.token()))[0] == 200
        assert keys.fetches == 1
        # The provider rotates: the new key is published, the old one withdrawn.
        keys.publish(new)
        status, _, body = http("POST", gateway.url("time"), INITIALIZE, bearer(new.token()))
        assert status == 200, body
        assert keys.fetches == 2, "fetched again at once for the token naming the new key"
        assert http("POST", gateway.url("time"), INITIALIZE, bearer(old.token()))[0] == 401, "the withdrawn key no longer works"
        # Tokens naming keys nobody published: no fetch within the interval of the last one...
        for index in range(20):
            status, headers, body = http("POST", gateway.url("time"), INITIALIZE, bearer(new.token(kid=f"junk-{index}")))
            assert status == 401 and "junk-" in json.loads(body)["error"]["message"]
        assert keys.fetches == 2
        # ... and at most one per interval after it, however many arrive at once.
        time.sleep(3.2)

        async def flood():
            async with anyio.create_task_group() as group:
                for index in range(30):
                    group.start_soon(anyio.to_thread.run_sync, lambda index=index: http(
                        "POST", gateway.url("time"), INITIALIZE, bearer(new.token(kid=f"more-junk-{index}"))))

        anyio.run(flood)
        assert keys.fetches == 3
    finally:
        gateway.stop()
        keys.server.shutdown()
