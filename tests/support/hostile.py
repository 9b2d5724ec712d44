"""Text written by strangers, put where ListManager keeps text: stream names, domains, block
descriptions and SMTP replies of the hand-built database."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

MARKUP = "[bold]b[/bold] [/x] [@click=app.quit]q[/] [link=http://evil]l[/link]"
ANSI = "\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\ \x9b2J"
CONTROLS = "nul\x00byte bell\x07 back\x08space del\x7f line1\r\nBcc: x@evil.example\u2028sep"
BIDI = "rtl\u202eevil\u202c e\u0301\u0301\u0301 \u200bzero \ufeffbom"
HUGE = "554 spam " + "x" * 1_000_000
VALUES = {"markup": MARKUP, "ansi": ANSI, "controls": CONTROLS, "bidi": BIDI}
FORBIDDEN = ["\x1b", "\x00", "\x07", "\x08", "\x7f", "\x9b", "\u202e", "\u2028", "\ufeff", "\u200b"]


def inject(engine: sa.Engine, now) -> None:  # noqa: ANN001
    """Put hostile text in every text column the console and the CLI show."""
    lower = engine.dialect.name == "postgresql"

    def n(name: str) -> str:
        return name.lower() if lower else name

    def q(name: str) -> str:
        return f'"{n(name)}"'

    def v(text: str) -> str:
        # PostgreSQL text cannot hold NUL at all; everything else goes in as it is.
        return text.replace("\x00", "") if lower else text

    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"update {q('lyrMailStreams')} set {q('Name')} = :v where {q('MailStreamID')} = 3"
            ),
            {"v": v("tx " + MARKUP[:40] + " \x1b[5m")},
        )
        conn.execute(
            sa.text(f"update {q('lyrMailStreams')} set {q('Description')} = :v"), {"v": v(BIDI)}
        )
        conn.execute(
            sa.text(
                f"update {q('lyrMailStreamBlockedDomains')} set {q('Domain')} = :d, {q('Description')} = :v where {q('BlockID')} = 104"
            ),
            {"d": "[b]x[/b]\x1b[31m.example", "v": v(ANSI + " " + CONTROLS)},
        )
        conn.execute(
            sa.text(
                f"update {q('lyrMailStreamBlockedIPs')} set {q('Description')} = :v where {q('BlockID')} = 206"
            ),
            {"v": HUGE if not lower else HUGE[:1000]},  # varchar(1000) on PostgreSQL
        )
        rows = []
        for i, text in enumerate([MARKUP, ANSI, CONTROLS, BIDI, HUGE]):
            rows.append(
                {
                    n("AttemptID"): 10_000 + i,
                    n("AttemptTime"): now - timedelta(minutes=10 + i),
                    n("MailStreamID"): 3,
                    n("SourceIP"): "203.0.113.5",
                    n("Domain"): "evil.example",
                    n("MXHost"): "mx\x1b[2J.evil.example [bold]",
                    n("MXIP"): "198.18.9.9",
                    n("SMTPResponseCode"): 554,
                    n("SMTPResponseText"): v(text),
                }
            )
        table = sa.Table(n("lyrDeliverAttemptLog"), sa.MetaData(), autoload_with=conn)
        conn.execute(table.insert(), rows)
        if engine.dialect.name == "sqlite":
            # Bytes that are not UTF-8, as a badly converted database may hold.
            conn.exec_driver_sql(
                "insert into lyrDeliverAttemptLog (AttemptID, AttemptTime, MailStreamID, SourceIP, Domain, "
                "MXHost, MXIP, SMTPResponseCode, SMTPResponseText) values (10100, ?, 3, '203.0.113.5', "
                "'evil.example', 'mx', '198.18.9.9', 554, CAST(X'35353420fffe80626164' AS TEXT))",
                ((now - timedelta(minutes=1)).isoformat(sep=" "),),
            )


def clean(text: str) -> list[str]:
    """The forbidden characters found in ``text`` (none expected)."""
    return [repr(c) for c in FORBIDDEN if c in text]
