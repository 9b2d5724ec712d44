"""``k`` checks the sender domains and DKIM selectors the receivers' replies name, besides
ListManager's DKIM tables and the config."""

from __future__ import annotations

from datetime import timedelta

from tui.checks import CheckSettings
from tui.config import load_config
from tui.core import open_core
from tui.db.queries import find_stream
from tui.triage import check_sources

DMARC = (
    "550 5.7.26 <ann@yahoo.com>: Message rejected due to DMARC policy of news.example.org "
    "(SPF fail, DKIM none) header.from=news.example.org d=news.example.org s=sel9"
)


def test_reply_domains_and_selectors_become_check_targets(sqlite_db) -> None:
    core = open_core(load_config(db=sqlite_db.url, config=str(sqlite_db.config)))
    try:
        a = core.schema.t("attempts")
        col = {k: core.schema.col("attempts", k).key for k in (
            "AttemptID", "AttemptTime", "MailStreamID", "SourceIP", "Domain",
            "SMTPResponseCode", "SMTPResponseText",
        )}  # fmt: skip
        with core.engine.begin() as conn:
            conn.execute(
                a.insert(),
                [
                    {
                        col["AttemptID"]: 9000 + i,
                        col["AttemptTime"]: sqlite_db.now - timedelta(hours=1),
                        col["MailStreamID"]: 2,
                        col["SourceIP"]: "198.51.100.20",
                        col["Domain"]: "yahoo.com",
                        col["SMTPResponseCode"]: 550,
                        col["SMTPResponseText"]: DMARC.replace("ann", f"ann{i}"),
                    }
                    for i in range(3)
                ],
            )
        with core.connect() as conn:
            stream = find_stream(core.schema, conn, "marketing")
            seen = check_sources.reply_senders(core, conn, stream.id, ["yahoo.com", "gmail.com"])
            targets = check_sources.sender_targets(
                core, conn, stream, CheckSettings(), blocked_by=["yahoo.com"]
            )
            none = check_sources.reply_senders(core, conn, 1, ["yahoo.com"])  # other stream
        assert seen == {"news.example.org": ["sel9"]}
        assert none == {}
        target = next(t for t in targets if t.domain == "news.example.org")
        assert [s.selector for s in target.selectors] == ["sel9"]
        assert sorted(target.stream_ips) == ["198.51.100.20", "198.51.100.21", "198.51.100.22"]
    finally:
        core.close()
