"""A ListManager database built by hand, not by the demo generator.

It differs from the model on purpose, the way a real installation might:
- the attempt log is called ``lyrDeliverAttemptLog`` (the vendor index's spelling);
- the blocked-IP table's MX column is ``BlockingMXIP`` (mapped through the config file);
- ``lyrDAOMailStreamTracking`` is missing (the volume chart must switch off, nothing else);
- table names are lower-case on PostgreSQL, as an unquoted CREATE TABLE leaves them;
- the block tables carry an extra column (``NodeID``) the model does not know, which a
  release must copy into the audit and an undo must restore.

Every figure the tests assert is derived from :data:`BLOCKS` and :func:`attempt_rows`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

CONFIG_TOML = """
[schema.columns.blocked_ips]
BlockingMX = "BlockingMXIP"
"""

STREAMS = [
    (1, "default", "Default stream"),
    (2, "marketing", "Bulk marketing"),
    (3, "transactional", None),
]
STREAM_IPS = {
    1: ["192.0.2.10", "192.0.2.11"],
    2: ["198.51.100.20", "198.51.100.21", "198.51.100.22"],
    3: ["203.0.113.5"],
}
GMAIL_REPLY = (
    "550-5.7.1 [192.0.2.10] Our system has detected that this message is likely suspicious "
    "due to the very low reputation of the sending IP address. gsmtp"
)
YAHOO_REPLY = "421 4.7.0 [TSS04] Messages from 198.51.100.20 temporarily deferred due to unexpected volume or user complaints"
OUTLOOK_REPLY = (
    "550 5.7.1 Unfortunately, messages from [198.51.100.21] weren't sent. Please contact your Internet "
    "service provider since part of their network is on our block list (S3140)."
)
HOSTILE_REPLY = (
    "554 [bold]boom[/bold] [@click=app.quit]x[/] \x1b[31mred\x1b[0m listed [rbl] zen.spamhaus.org"
)

# (BlockID, stream, domain, description, since-hours-ago, next-retry-minutes or None)
DOMAIN_BLOCKS = [
    (101, 1, "gmail.com", "All MX blocked", 5, 30),
    (102, 2, "yahoo.com", "Deferred: unexpected volume", 3, None),
    (103, 2, "hotmail.com", "Block list S3140", 30, 45),
    (104, 3, "odd_domain%.example", "50% of [mx] blocked; DROP TABLE x;--", 1, 10),
]
# (BlockID, stream, ip, domain, mx, description, since-hours-ago, next-retry-minutes or None)
IP_BLOCKS = [
    (201, 1, "192.0.2.10", "gmail.com", "198.18.0.5", "very low reputation", 5, 30),
    (202, 1, "192.0.2.11", "gmail.com", "198.18.0.5", "very low reputation", 5, 30),
    (203, 2, "198.51.100.20", "yahoo.com", "198.18.1.1", "TSS04", 3, None),
    (204, 2, "198.51.100.21", "hotmail.com", "198.18.2.2", "S3140", 30, 45),
    (205, 2, "198.51.100.22", "hotmail.com", "198.18.2.2", "S3140", 30, 45),
    (206, 3, "203.0.113.5", "evil.example", "198.18.9.9", HOSTILE_REPLY, 2, 5),
]
BLOCKS = {"domain": DOMAIN_BLOCKS, "ip": IP_BLOCKS}


def _tables(metadata: sa.MetaData, lower: bool) -> dict[str, sa.Table]:
    def n(name: str) -> str:
        return name.lower() if lower else name

    t: dict[str, sa.Table] = {}
    t["streams"] = sa.Table(
        n("lyrMailStreams"),
        metadata,
        sa.Column(n("MailStreamID"), sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(n("Name"), sa.String(100), nullable=False),
        sa.Column(n("Description"), sa.String(255)),
    )
    t["nodes"] = sa.Table(
        n("lyrNodeAddresses"),
        metadata,
        sa.Column(n("NodeAddressID"), sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(n("NodeID"), sa.Integer),
        sa.Column(n("IPAddress"), sa.String(45), nullable=False),
    )
    t["has"] = sa.Table(
        n("lyrStreamHasAddress"),
        metadata,
        sa.Column(n("MailStreamID"), sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(n("NodeAddressID"), sa.Integer, primary_key=True, autoincrement=False),
    )
    t["bd"] = sa.Table(
        n("lyrMailStreamBlockedDomains"),
        metadata,
        sa.Column(n("BlockID"), sa.Integer, primary_key=True),
        sa.Column(n("MailStreamID"), sa.Integer, nullable=False),
        sa.Column(n("Domain"), sa.String(250), nullable=False),
        sa.Column(n("Description"), sa.String(1000)),
        sa.Column(n("BlockedSince"), sa.DateTime),
        sa.Column(n("NextRetry"), sa.DateTime),
        sa.Column(n("NodeID"), sa.Integer),
    )
    t["bi"] = sa.Table(
        n("lyrMailStreamBlockedIPs"),
        metadata,
        sa.Column(n("BlockID"), sa.Integer, primary_key=True),
        sa.Column(n("MailStreamID"), sa.Integer, nullable=False),
        sa.Column(n("IPAddress"), sa.String(45), nullable=False),
        sa.Column(n("Domain"), sa.String(250), nullable=False),
        sa.Column(n("BlockingMXIP"), sa.String(45), nullable=False),
        sa.Column(n("Description"), sa.String(1000)),
        sa.Column(n("BlockedSince"), sa.DateTime),
        sa.Column(n("NextRetry"), sa.DateTime),
        sa.Column(n("NodeID"), sa.Integer),
    )
    t["att"] = sa.Table(
        n("lyrDeliverAttemptLog"),
        metadata,
        sa.Column(
            n("AttemptID"), sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
        ),
        sa.Column(n("AttemptTime"), sa.DateTime, nullable=False),
        sa.Column(n("MailStreamID"), sa.Integer),
        sa.Column(n("SourceIP"), sa.String(45)),
        sa.Column(n("Domain"), sa.String(250)),
        sa.Column(n("MXHost"), sa.String(250)),
        sa.Column(n("MXIP"), sa.String(45)),
        sa.Column(n("SMTPResponseCode"), sa.Integer),
        sa.Column(n("SMTPResponseText"), sa.Text),
        sa.Column(n("CompletionStatusID"), sa.Integer),
        sa.Column(n("MailingID"), sa.Integer),
        sa.Column(n("RecipientID"), sa.BigInteger),
    )
    sa.Index("ix_att_domain_time", t["att"].c[n("Domain")], t["att"].c[n("AttemptTime")])
    t["status"] = sa.Table(
        n("lyrLookupCompletionStatus"),
        metadata,
        sa.Column(n("CompletionStatusID"), sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(n("Description"), sa.String(255)),
    )
    t["dao"] = sa.Table(
        n("lyrDAODefinitions"),
        metadata,
        sa.Column(n("Area"), sa.SmallInteger, nullable=False),
        sa.Column(n("PatternType"), sa.SmallInteger, nullable=False),
        sa.Column(n("SMTPResponseCode"), sa.Integer),
        sa.Column(n("ClassificationCode"), sa.Integer, nullable=False),
        sa.Column(n("Pattern"), sa.String(255), nullable=False),
    )
    t["dcl"] = sa.Table(
        "domainconnectionlimits_",
        metadata,
        sa.Column("Domain_" if not lower else "domain_", sa.String(250), primary_key=True),
        sa.Column("ConnectionLimit_" if not lower else "connectionlimit_", sa.Integer),
        sa.Column("ConnPerHour_" if not lower else "connperhour_", sa.Integer),
        sa.Column("MaxMsgPerConn_" if not lower else "maxmsgperconn_", sa.Integer),
    )
    return t


def attempt_rows(now: datetime) -> list[dict[str, object]]:
    """The attempt log: what each block's evidence figures are computed from.

    Per block: gmail.com stream 1 — 6 failures (4 of GMAIL_REPLY via 192.0.2.10, 2 via .11)
    and 3 successes in the window, plus 2 failures 10 days ago (outside a 7-day window);
    yahoo.com stream 2 — 5 failures of YAHOO_REPLY from .20 via 198.18.1.1; hotmail.com
    stream 2 — 3 of OUTLOOK_REPLY (.21 → 198.18.2.2) and 1 from .22; evil.example stream 3 —
    1 hostile reply.
    """
    rows: list[dict[str, object]] = []

    def add(
        hours: float,
        stream: int,
        ip: str,
        domain: str,
        mxhost: str,
        mxip: str,
        code: int,
        text: str,
    ) -> None:
        rows.append(
            {
                "AttemptID": len(rows) + 1,
                "AttemptTime": now - timedelta(hours=hours),
                "MailStreamID": stream,
                "SourceIP": ip,
                "Domain": domain,
                "MXHost": mxhost,
                "MXIP": mxip,
                "SMTPResponseCode": code,
                "SMTPResponseText": text,
                "CompletionStatusID": 300 if code < 300 else 5001,
            }
        )

    g = "gmail-smtp-in.l.google.com"
    for h in (6, 5.5, 5.2, 5.1):
        add(h, 1, "192.0.2.10", "gmail.com", g, "198.18.0.5", 550, GMAIL_REPLY)
    for h in (5.3, 5.05):
        add(
            h,
            1,
            "192.0.2.11",
            "gmail.com",
            "alt1." + g,
            "198.18.0.5",
            421,
            "421-4.7.28 Our system has detected an unusual rate of unsolicited mail. gsmtp",
        )
    for h in (20, 21, 22):
        add(
            h,
            1,
            "192.0.2.10",
            "gmail.com",
            g,
            "198.18.0.5",
            250,
            "250 2.0.0 OK 1700000000 x1si2 - gsmtp",
        )
    for h in (240, 241):
        add(h, 1, "192.0.2.10", "gmail.com", g, "198.18.0.5", 550, GMAIL_REPLY)
    for h in (3.5, 3.4, 3.3, 3.2, 3.1):
        add(
            h,
            2,
            "198.51.100.20",
            "yahoo.com",
            "mta5.am0.yahoodns.net",
            "198.18.1.1",
            421,
            YAHOO_REPLY,
        )
    for h in (31, 30.5, 30.2):
        add(
            h,
            2,
            "198.51.100.21",
            "hotmail.com",
            "hotmail-com.olc.protection.outlook.com",
            "198.18.2.2",
            550,
            OUTLOOK_REPLY,
        )
    add(
        30.1,
        2,
        "198.51.100.22",
        "hotmail.com",
        "hotmail-com.olc.protection.outlook.com",
        "198.18.2.2",
        550,
        OUTLOOK_REPLY,
    )
    add(2.5, 3, "203.0.113.5", "evil.example", "mx.evil.example", "198.18.9.9", 554, HOSTILE_REPLY)
    return rows


def build(engine: sa.Engine, now: datetime) -> None:
    """Create and fill the hand-built database behind ``engine``."""
    lower = engine.dialect.name == "postgresql"
    metadata = sa.MetaData()
    t = _tables(metadata, lower)
    metadata.create_all(engine)

    def row(table: sa.Table, **values: object) -> dict[str, object]:
        return {(k.lower() if lower else k): v for k, v in values.items()}

    with engine.begin() as conn:
        conn.execute(
            t["streams"].insert(),
            [row(t["streams"], MailStreamID=i, Name=n, Description=d) for i, n, d in STREAMS],
        )
        node_id = 0
        for stream, ips in STREAM_IPS.items():
            for ip in ips:
                node_id += 1
                conn.execute(
                    t["nodes"].insert(),
                    [row(t["nodes"], NodeAddressID=node_id, NodeID=1, IPAddress=ip)],
                )
                conn.execute(
                    t["has"].insert(), [row(t["has"], MailStreamID=stream, NodeAddressID=node_id)]
                )
        conn.execute(
            t["bd"].insert(),
            [
                row(
                    t["bd"],
                    BlockID=b,
                    MailStreamID=s,
                    Domain=d,
                    Description=desc,
                    BlockedSince=now - timedelta(hours=h),
                    NextRetry=None if r is None else now + timedelta(minutes=r),
                    NodeID=7,
                )
                for b, s, d, desc, h, r in DOMAIN_BLOCKS
            ],
        )
        conn.execute(
            t["bi"].insert(),
            [
                row(
                    t["bi"],
                    BlockID=b,
                    MailStreamID=s,
                    IPAddress=ip,
                    Domain=d,
                    BlockingMXIP=mx,
                    Description=desc,
                    BlockedSince=now - timedelta(hours=h),
                    NextRetry=None if r is None else now + timedelta(minutes=r),
                    NodeID=7,
                )
                for b, s, ip, d, mx, desc, h, r in IP_BLOCKS
            ],
        )
        conn.execute(t["att"].insert(), [row(t["att"], **r) for r in attempt_rows(now)])
        conn.execute(
            t["status"].insert(),
            [
                row(t["status"], CompletionStatusID=i, Description=d)
                for i, d in ((300, "Success"), (2001, "Invalid user"), (5001, "Banned IP"))
            ],
        )
        conn.execute(
            t["dao"].insert(),
            [
                row(
                    t["dao"],
                    Area=1,
                    PatternType=0,
                    SMTPResponseCode=0,
                    ClassificationCode=5001,
                    Pattern="blocked using",
                ),
                row(
                    t["dao"],
                    Area=1,
                    PatternType=2,
                    SMTPResponseCode=0,
                    ClassificationCode=2001,
                    Pattern="user (unknown",
                ),
            ],
        )
        dcl = t["dcl"]
        conn.execute(
            dcl.insert(),
            [{dcl.c[0].name: "yahoo.com", dcl.c[1].name: 5, dcl.c[2].name: 500, dcl.c[3].name: 20}],
        )


def write_config(tmp: Path) -> Path:
    """The config file that maps the renamed column."""
    path = tmp / "handmade.toml"
    path.write_text(CONFIG_TOML)
    path.chmod(0o600)
    return path
