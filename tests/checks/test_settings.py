"""The [checks] table and HOST[:PORT] parsing."""

from __future__ import annotations

import pytest

from tui.checks.settings import (
    DEFAULT_DNSBL_ZONES,
    CheckSettings,
    parse_hostport,
    system_nameservers,
)
from tui.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("[::1]", ("::1", 53)),
        ("::1", ("::1", 53)),
        (" 2001:db8::53 ", ("2001:db8::53", 53)),
    ],
)
def test_parse_hostport(text: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(text) == expected


@pytest.mark.parametrize(
    "text", ["", "dns.google", "127.0.0.1:0", "127.0.0.1:70000", "[::1", "[::1]x", "1.2.3.4:ab"]
)
def test_parse_hostport_rejects(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_hostport(text)


def test_defaults() -> None:
    settings = CheckSettings.from_mapping({})
    assert settings.dnsbl_zones == list(DEFAULT_DNSBL_ZONES)
    assert "zen.spamhaus.org" in settings.dnsbl_zones
    assert settings.timeout > 0 and settings.retries >= 0


def test_from_mapping_full() -> None:
    settings = CheckSettings.from_mapping(
        {
            "nameservers": ["127.0.0.1:5353", "[::1]"],
            "dnsbl_nameservers": "10.0.0.53",
            "dnsbl_zones": ["zen.spamhaus.org."],
            "timeout": 3,
            "retries": 2,
            "concurrency": 10,
            "deadline": 30.5,
            "helo": {"192.0.2.10": "MTA1.example.com."},
            "sender_domains": ["Example.com"],
            "dkim_selectors": ["lm2024"],
            "dkim_keys": {"lm2024:example.com": "/keys/a.pem", "LM2023": "b.pem"},
            "mail_from": "bounce@example.com",
        }
    )
    assert settings.nameservers == [("127.0.0.1", 5353), ("::1", 53)]
    assert settings.dnsbl_nameservers == [("10.0.0.53", 53)]
    assert settings.dnsbl_zones == ["zen.spamhaus.org"]
    assert settings.timeout == 3.0 and settings.retries == 2 and settings.concurrency == 10
    assert settings.helo_for("192.0.2.10") == "mta1.example.com"
    assert settings.helo_for("192.0.2.11") is None
    assert settings.sender_domains == ["example.com"]
    assert settings.dkim_key_path("lm2024", "example.com") == "/keys/a.pem"
    assert settings.dkim_key_path("lm2023", "other.com") == "b.pem"
    assert settings.resolved_dnsbl_nameservers() == [("10.0.0.53", 53)]


def test_helo_default() -> None:
    settings = CheckSettings.from_mapping({"helo": "mta.example.com"})
    assert settings.helo_for("192.0.2.1") == "mta.example.com"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"timeout": "5"}, "checks.timeout"),
        ({"timeout": 0}, "checks.timeout"),
        ({"timeout": True}, "checks.timeout"),
        ({"retries": 1.5}, "checks.retries"),
        ({"retries": -1}, "checks.retries"),
        ({"concurrency": 0}, "checks.concurrency"),
        ({"nameservers": [53]}, "checks.nameservers"),
        ({"nameservers": ["resolver.local"]}, "checks.nameservers"),
        ({"dnsbl_zones": "zen.spamhaus.org"}, "checks.dnsbl_zones"),
        ({"dnsbl_zones": ["bad zone"]}, "checks.dnsbl_zones"),
        ({"helo": 5}, "checks.helo"),
        ({"helo": {"not-an-ip": "x.example"}}, "checks.helo"),
        ({"dkim_keys": ["a.pem"]}, "checks.dkim_keys"),
        ({"mail_from": "nobody"}, "checks.mail_from"),
        ({"colour": "blue"}, "checks.colour"),
    ],
)
def test_from_mapping_rejects(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        CheckSettings.from_mapping(data)
    assert str(err.value).startswith(key + ":") or str(err.value).startswith(key + ".")


def test_system_nameservers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    conf = tmp_path / "resolv.conf"
    conf.write_text(
        "# comment\nsearch example.com\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\nnameserver bogus\n"
    )
    assert system_nameservers(str(conf)) == [("10.0.0.1", 53), ("fe80::1", 53)]
    assert system_nameservers(str(tmp_path / "missing")) == []


def test_no_nameserver_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.checks.settings.system_nameservers", lambda path="": [])
    with pytest.raises(ConfigError, match="checks.nameservers"):
        CheckSettings().resolved_nameservers()


def test_default_blocklists_are_dated_and_leave_out_closed_ones() -> None:
    from datetime import date

    from tui.checks.settings import CLOSED_DNSBL_ZONES, DNSBL_ZONES

    assert "dnsbl.sorbs.net" in CLOSED_DNSBL_ZONES and "ix.dnsbl.manitu.net" in CLOSED_DNSBL_ZONES
    assert not CLOSED_DNSBL_ZONES & set(DEFAULT_DNSBL_ZONES)
    assert "zen.spamhaus.org" in DEFAULT_DNSBL_ZONES
    for zone in DNSBL_ZONES:
        assert zone.status in ("active", "restricted", "closed")
        assert date.fromisoformat(zone.checked) <= date.today()
        assert zone.note and zone.source.startswith("https://")
    assert len({z.zone for z in DNSBL_ZONES}) == len(DNSBL_ZONES)
