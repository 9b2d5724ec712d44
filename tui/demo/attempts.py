"""The demo's delivery attempt log, generated row by row in time order.

:func:`attempt_rows` interleaves, bucket by bucket, the background traffic of every stream
(office hours, weekends, campaign bursts; successes and per-recipient failures at domains
weighted by volume, steering around pairs and domains once they are blocked) with the failing
attempts behind each block (planned by :meth:`tui.demo.world.World.make_events`). It fills
the world's per-stream 5-minute tracking series on the way and records each block's
triggering reply, which its Description quotes. Rows are tuples in the column order of
:data:`ATTEMPT_COLUMNS`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from tui.demo.replies import FAILURES, Ctx, success
from tui.demo.tables import CAUSE_DEFS
from tui.demo.world import BUCKET_SECONDS, MX, Evidence, World

ATTEMPT_COLUMNS = (
    "AttemptTime",
    "MailStreamID",
    "SourceIP",
    "Domain",
    "MXHost",
    "MXIP",
    "SMTPResponseCode",
    "SMTPResponseText",
    "CompletionStatusID",
    "MailingID",
    "RecipientID",
)
TRACKING_COLUMNS = ("MailStreamID", "CompletionStatusID", "Count", "IntervalStart", "IntervalEnd")


def _rhythm(w: World) -> list[list[float]]:
    """Per stream, a weight per bucket: office hours, weekends, campaign bursts."""
    r = w.r
    hour_w = [0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.45, 0.8, 1.0, 1.1, 1.1, 1.0,
              0.9, 0.95, 1.0, 0.95, 0.85, 0.75, 0.65, 0.6, 0.5, 0.4, 0.3, 0.2]  # fmt: skip
    out: list[list[float]] = []
    days = (w.total_secs // 86400) + 2
    for stream in w.streams:
        bursts: list[tuple[int, float, float]] = []
        if stream.rhythm in ("campaign", "weekly"):
            for day in range(days):
                if stream.rhythm == "weekly" and r.random() > 0.3:
                    continue
                if stream.rhythm == "campaign" and r.random() > 0.7:
                    continue
                hour = r.uniform(8, 11)
                bursts.append((day, hour, r.uniform(4, 9)))
        weights = []
        for b in range(w.n_buckets):
            when = w.grid_start + timedelta(seconds=b * BUCKET_SECONDS)
            h = when.hour + when.minute / 60
            weight = hour_w[when.hour]
            if stream.rhythm == "smooth":
                weight = 0.5 + 0.5 * weight
            if when.weekday() >= 5:
                weight *= 0.55
            day = (b * BUCKET_SECONDS) // 86400
            for bd, bh, amp in bursts:
                if bd == day and bh <= h < bh + 4:
                    weight += amp * math.exp(-(h - bh) / 1.2)
            length = min(BUCKET_SECONDS, w.total_secs - b * BUCKET_SECONDS)
            if b * BUCKET_SECONDS + length <= w.start_sec:
                weight = 0.0
            elif b * BUCKET_SECONDS < w.start_sec:
                length = b * BUCKET_SECONDS + length - w.start_sec
            weights.append(max(0.0, weight) * length / BUCKET_SECONDS)
        out.append(weights)
    return out


def _bucket_counts(w: World, total: int) -> list[list[int]]:
    """Background attempts per stream per bucket, summing exactly to ``total``."""
    rhythm = _rhythm(w)
    shares = [s.share for s in w.streams]
    ssum = sum(shares)
    counts: list[list[int]] = []
    remaining = total
    for i, weights in enumerate(rhythm):
        n = round(total * shares[i] / ssum) if i < len(rhythm) - 1 else remaining
        n = max(0, min(n, remaining))
        remaining -= n
        wsum = sum(weights) or 1.0
        acc = 0.0
        prev = 0
        row = []
        for weight in weights:
            acc += weight
            cur = round(n * acc / wsum)
            row.append(cur - prev)
            prev = cur
        row[-1] += n - prev
        counts.append(row)
    return counts


def _success_pools(w: World) -> dict[tuple[str, int], list[str]]:
    r = w.r
    pools: dict[tuple[str, int], list[str]] = {}
    styles = sorted({d.style for d in w.domains})
    # Naive times read as UTC here: the local time zone must not change the content.
    base_epoch = int((w.start - datetime(1970, 1, 1)).total_seconds())
    for style in styles:
        size = 1 if style in ("yahoo", "zoho") else 64
        for s, stream in enumerate(w.streams):
            pools[(style, s)] = [
                success(style, r, stream.sender, base_epoch + r.randrange(0, 7 * 86400))
                for _ in range(size)
            ]
    return pools


def _hostile(ev: Evidence, code: int | None, text: str, latest: bool) -> str:
    if ev.hostile == "markup":
        return f"{text} [bold]Reference:[/bold] [rbl] [link=http://198.18.0.1/]details[/link]"
    if ev.hostile == "ansi":
        head, _, rest = text.partition(" ")
        return f"{head} \x1b[31m{rest}\x1b[0m"
    if ev.hostile == "long" and latest:
        c = code or 550
        line = (
            f"{c}-5.7.1 Your message was rejected by the local policy engine of this site; the "
            f"sending host {ev.ip} is not permitted to relay mail for this domain at this time."
        )
        parts = [text]
        size = len(text)
        k = 0
        while size < 50_000:
            k += 1
            piece = f"{line} (rule {k:04d})"
            parts.append(piece)
            size += len(piece) + 1
        return " ".join(parts)
    return text


def attempt_rows(w: World) -> Iterator[tuple[Any, ...]]:
    """Every attempt row, in time order, with the tracking aggregation on the side."""
    r = w.r
    rnd = r.random
    n_block_events = len(w.ev_block)
    total_bg = max(0, w.n_attempts - n_block_events)
    counts = _bucket_counts(w, total_bg)
    pools = _success_pools(w)
    minute = w.minutes
    secs = [f":{s:02d}.000000" for s in range(60)]
    doms = w.domains
    dom_idx = list(range(len(doms)))
    cum: list[float] = []
    acc = 0.0
    for d in doms:
        acc += d.weight
        cum.append(acc)
    safe = [i for i, d in enumerate(doms) if not any(d.risky)] or dom_idx
    for dom in doms:
        dom.pools = [pools[(dom.style, s)] for s in range(len(w.streams))]
    pair_since = w.blocked_pairs
    domain_since = w.blocked_domains
    stream_ids = [s.id for s in w.streams]
    stream_ips = [s.ips for s in w.streams]
    stream_sender = [s.sender for s in w.streams]
    recipient = 10_000_000
    mailing_base = 40_000 + w.r.randrange(0, 5000)
    status_of = {k: v.status for k, v in FAILURES.items()}
    everything = w.everything
    ev_block, ev_flags = w.ev_block, w.ev_flags
    total_rows = max(1, total_bg + n_block_events)
    emitted = 0
    n_streams = len(w.streams)
    for b, blk in enumerate(w.events):
        tally: dict[tuple[int, int], int] = {}
        succ = [0] * n_streams
        bg: list[int] = []
        base = b * BUCKET_SECONDS
        length = min(BUCKET_SECONDS, w.total_secs - base)
        lo = max(0, w.start_sec - base)
        for s in range(n_streams):
            n = counts[s][b]
            if n:
                span = length - lo
                flag = (1 << 23) | s
                bg.extend(((base + lo + int(rnd() * span)) << 24) | flag for _ in range(n))
        evs = bg + blk
        evs.sort()
        n_bg = len(bg)
        picks = r.choices(dom_idx, cum_weights=cum, k=n_bg) if n_bg else []
        pi = 0
        day_mailing = mailing_base + (base // 86400) * 16
        for ev in evs:
            sec = ev >> 24
            ts = minute[sec // 60] + secs[sec % 60]
            recipient += 1
            if ev & (1 << 23):
                s = ev & 0xFF
                d = picks[pi]
                pi += 1
                dom = doms[d]
                ips = stream_ips[s]
                src = ips[int(rnd() * len(ips))]
                mxs = dom.mx
                mx = mxs[0] if (len(mxs) == 1 or rnd() < 0.75) else mxs[int(rnd() * len(mxs))]
                if dom.risky[s]:
                    # No mail goes over a blocked pair, nor to a blocked domain, after
                    # BlockedSince: take another pair, or another recipient's domain.
                    t = pair_since.get((src, mx[2]))
                    t2 = domain_since.get((s, d))
                    if (t is not None and sec >= t) or (t2 is not None and sec >= t2):
                        ok = _unblocked(w, s, d, src, mx, sec)
                        if ok is None:
                            d = safe[int(rnd() * len(safe))]
                            dom = doms[d]
                            mx = dom.mx[0]
                            ok = _unblocked(w, s, d, src, mx, sec)
                        if ok is not None:
                            src, mx = ok
                roll = rnd()
                if roll >= dom.fail_total:
                    pool = dom.pools[s]
                    text = pool[int(rnd() * len(pool))]
                    yield (ts, stream_ids[s], src, dom.name, mx[1], mx[2], 250, text, 300,
                           day_mailing + s, recipient)  # fmt: skip
                    succ[s] += 1
                else:
                    failures = dom.failures
                    kind = failures[0][1]
                    for threshold, name in failures:
                        if roll < threshold:
                            kind = name
                            break
                    ctx = Ctx(src, mx[1], mx[2], dom.name, stream_sender[s], ts[:19])
                    code, text = FAILURES[kind].replies.render(dom.style, r, ctx)
                    status = status_of[kind]
                    tally[(s, status)] = tally.get((s, status), 0) + 1
                    yield (ts, stream_ids[s], src, dom.name, mx[1], mx[2], code, text, status,
                           day_mailing + s, recipient)  # fmt: skip
            else:
                idx = ev & 0x7FFFFF
                blk_ev = everything[ev_block[idx]]
                flags = ev_flags[idx]
                s = blk_ev.stream
                dom = doms[blk_ev.domain]
                if blk_ev.ip is not None and blk_ev.mx is not None:
                    src, mx = blk_ev.ip, blk_ev.mx
                else:
                    ips = stream_ips[s]
                    src = ips[int(rnd() * len(ips))]
                    mx = dom.mx[int(rnd() * len(dom.mx))]
                ctx = Ctx(src, mx[1], mx[2], dom.name, stream_sender[s], ts[:19])
                templates = blk_ev.templates
                if flags & 1 or len(templates) == 1 or rnd() < 0.8:
                    template = templates[blk_ev.primary][0]
                else:
                    template = templates[int(rnd() * len(templates))][0]
                code, text = template(r, ctx)
                if blk_ev.hostile:
                    text = _hostile(blk_ev, code, text, bool(flags & 2))
                if flags & 1 and blk_ev.trigger is None:
                    blk_ev.trigger = (code, text)
                    blk_ev.trigger_mx = mx[2]
                status = CAUSE_DEFS[blk_ev.cause].status
                row = (
                    ts,
                    stream_ids[s],
                    src,
                    dom.name,
                    mx[1],
                    mx[2],
                    code,
                    text,
                    status,
                    day_mailing + s,
                    recipient,
                )
                tally[(s, status)] = tally.get((s, status), 0) + 1
                yield row
            emitted += 1
            if emitted % 200_000 == 0:
                w.tick("attempts", 0.05 + 0.8 * emitted / total_rows)
        start_text = (w.grid_start + timedelta(seconds=base)).strftime("%Y-%m-%d %H:%M:%S.000000")
        end_text = (w.grid_start + timedelta(seconds=base + BUCKET_SECONDS)).strftime(
            "%Y-%m-%d %H:%M:%S.000000"
        )
        if base + length <= w.start_sec:
            continue
        for s in range(n_streams):
            w.tracking.append((stream_ids[s], 300, succ[s], start_text, end_text))
        for (s, status), n in sorted(tally.items()):
            if status != 300:
                w.tracking.append((stream_ids[s], status, n, start_text, end_text))


def _unblocked(w: World, s: int, d: int, src: str, mx: MX, sec: int) -> tuple[str, MX] | None:
    """A (source IP, MX) that is not blocked at ``sec``, preferring the given ones."""
    since = w.blocked_domains.get((s, d))
    if since is not None and sec >= since:
        return None
    pairs = w.blocked_pairs
    t = pairs.get((src, mx[2]))
    if t is None or sec < t:
        return src, mx
    for ip in [src] + w.streams[s].ips:
        for cand in w.domains[d].mx:
            t = pairs.get((ip, cand[2]))
            if t is None or sec < t:
                return ip, cand
    return None
