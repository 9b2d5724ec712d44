"""A database server that is not there when lmtriage starts: real processes, one line each.

Port 1 on the loopback refuses every connection, so the fault needs no server at all.
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import lmtriage_env, run_lmtriage

DEAD = "postgresql+psycopg://u:pw@127.0.0.1:1/x"
DEAD_SECRET = "postgresql+psycopg://lm:Unre4chable-S3cret@127.0.0.1:1/lm"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="console"),
        pytest.param(["blocks"], id="blocks"),
        pytest.param(["doctor", "--format", "json"], id="doctor"),
        pytest.param(["release", "--all", "--yes"], id="release"),
    ],
)
def test_unreachable_at_start_is_one_masked_line(args: list[str]) -> None:
    out = run_lmtriage(*args, "--db", DEAD)
    assert out.returncode == 2, out
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    line = lines[0]
    assert line.startswith("lmtriage: error: the database server cannot be reached")
    assert "Connection refused" in line
    assert "postgresql+psycopg://u:***@127.0.0.1:1/x" in line
    assert ":pw@" not in line and "Traceback" not in out.stderr


def test_unreachable_password_from_the_environment_is_masked() -> None:
    out = run_lmtriage(
        "blocks",
        "--db",
        "postgresql+psycopg://lm@127.0.0.1:1/lm",
        env=lmtriage_env(LMTRIAGE_DB_PASSWORD="Unre4chable-S3cret"),
    )
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1
    assert "cannot be reached" in out.stderr and "lm:***@127.0.0.1:1/lm" in out.stderr
    assert "Unre4chable-S3cret" not in out.stderr and "Traceback" not in out.stderr


def test_console_with_a_password_in_the_url_is_masked_too() -> None:
    out = run_lmtriage("--db", DEAD_SECRET)
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Unre4chable-S3cret" not in out.stderr and "lm:***@" in out.stderr
