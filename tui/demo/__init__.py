"""The demo database: a realistic ListManager database in the model schema, built from a seed.

Not part of the data layer: a generator of demo and test data on top of it.
:func:`build_demo_database` writes a SQLite file with streams and their sending IPs, receiving
domains (real mailbox providers first, then generated business domains) with MX hosts, IP-pair
and domain blocks with a cause each, the delivery attempts behind them (replies phrased like the
provider's own for that cause), background traffic with per-recipient failures, the per-stream
5-minute tracking series, ListManager's reply classification tables, connection limits and DKIM
selectors. A table ``lmtriage_demo_info`` holds the anchor time the data is built around and a
JSON *manifest* from which the demo DNS zone is built (see :data:`MANIFEST_DOC`).

Same arguments and the same ``now`` give the same database, byte for byte in content: every
choice comes from one ``random.Random(seed)`` drawn in a fixed order, and ``now`` defaults to the
current local time floored to the hour, so two builds within the same hour match too.

Addresses are from the documentation ranges (RFC 5737) for sending IPs and from the benchmarking
range 198.18.0.0/15 (RFC 2544) for MX IPs; none is a real provider's address.

Intended DNS faults (listed in the manifest's ``faults``, and echoed by the replies):

* one sending IP has no PTR and one has a PTR whose name resolves to another address: where the
  receiver checks rDNS, their blocks are PTR policy rejections (Gmail 5.7.25, Comcast, GMX
  "Bad DNS PTR", Mail.ru, AT&T, Postfix "cannot find your hostname");
* one sending IP is listed on zen.spamhaus.org (127.0.0.3) and bl.spamcop.net: its blocks
  name the blocklist ("blocked using zen.spamhaus.org", Yahoo [BL21], ...);
* the DKIM key ListManager holds for tx.example.org (transactional) is not the one in DNS (the
  DNS key was rotated), so that stream sends unsigned and its blocks are mostly
  authentication failures (Gmail 5.7.26, Yahoo 5.7.9, Outlook 5.7.515, iCloud HME1);
* news.example.net (newsletters) publishes DMARC ``p=none`` and signs with a 1024-bit key;
* one provider MX IP that has blocks is no longer an MX of its domain (a stale block).

With fewer than four streams the DKIM mismatch and ``p=none`` move to the last stream's domain.
"""

from tui.demo.build import (
    DemoSummary,
    build_demo_database,
    ensure_demo_database,
    read_demo_info,
)
from tui.demo.manifest import MANIFEST_DOC
from tui.demo.rows import DEMO_INFO_TABLE, GENERATOR_VERSION

__all__ = [
    "DEMO_INFO_TABLE",
    "GENERATOR_VERSION",
    "MANIFEST_DOC",
    "DemoSummary",
    "build_demo_database",
    "ensure_demo_database",
    "read_demo_info",
]
