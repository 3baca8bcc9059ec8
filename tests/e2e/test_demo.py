"""scripts/demo's agent session (examples/demo_client.py) through warden run: every line whole."""

import subprocess
import sys

from conftest import ROOT, TIMEOUT, fresh_minute


def test_the_demo_shows_each_denial_with_its_whole_rule_pointer(warden, env, db):
    fresh_minute(needed_seconds=30)
    shown = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo_client.py"), warden, "--db", db],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=TIMEOUT * 3, check=True,
    ).stdout.splitlines()
    denials = [line for line in shown if "[POLICY DENIED]" in line]
    assert len(denials) == 3, shown
    # Lines are not cut: each denial ends with the rule that made it.
    assert denials[0].endswith("(rule /tools/get_current_time/args/properties/timezone/pattern)"), denials[0]
    assert denials[1].endswith("(rule /tools/convert_time/deny_if/0)"), denials[1]
    assert denials[2].endswith("(rule /tools/get_current_time/rate_limit)"), denials[2]
