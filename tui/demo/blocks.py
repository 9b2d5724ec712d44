"""The demo's blocks: which (stream IP, MX IP) pairs and domains are blocked, why and since when.

:func:`make_blocks` spends the block budget on the mailbox providers first (by volume), then
on business domains; some (stream, domain) combinations get every pair blocked, and so a
domain block too; a few domains are blocked with no IP blocks (ListManager shows those on the
domain page only). The cause of each block picks its reply templates; the IPs with an
intended DNS fault get blocks that name it. Everything is drawn from the world's random, in a
fixed order.
"""

from __future__ import annotations

import math

from tui.demo.replies import BLOCK_TEMPLATES
from tui.demo.tables import CAUSE_DEFS, CAUSES
from tui.demo.world import MX, Evidence, Stream, World


def _cause_for(w: World, stream: Stream, ip: str | None, style: str, base: str) -> str:
    """The cause of one pair: the IP's DNS fault wins where the receiver checks it."""
    r = w.r
    available = BLOCK_TEMPLATES[style]
    fault = w.ip_faults.get(ip or "")
    if fault in ("ptr_missing", "ptr_mismatch") and "policy" in available and r.random() < 0.85:
        return "policy"
    if fault == "dnsbl_listed" and "dnsbl" in available and r.random() < 0.85:
        return "dnsbl"
    return base


def _combo_cause(w: World, stream: Stream, style: str) -> str:
    r = w.r
    available = [c for c in CAUSES if c in BLOCK_TEMPLATES[style]]
    weights = []
    for cause in available:
        weight = CAUSE_DEFS[cause].weight
        # The stream whose DKIM key does not match DNS sends unsigned: auth failures.
        if cause == "authentication" and w.dkim[stream.sender].dns_key:
            weight *= 12
        weights.append(weight)
    return r.choices(available, weights=weights)[0]


def _new_ip_block(w: World, s: int, d: int, ip: str, mx: MX, cause: str) -> Evidence:
    style = w.domains[d].style
    cause = _cause_for(w, w.streams[s], ip, style, cause)
    if cause not in BLOCK_TEMPLATES[style]:
        cause = next(c for c in CAUSES if c in BLOCK_TEMPLATES[style])
    ev = Evidence("ip", s, d, ip, mx, cause, BLOCK_TEMPLATES[style][cause])
    w.ip_blocks.append(ev)
    return ev


def _add_combo(w: World, s: int, d: int, pairs: list[tuple[str, MX]], full: bool) -> None:
    stream, dom = w.streams[s], w.domains[d]
    cause = _combo_cause(w, stream, dom.style)
    made = [_new_ip_block(w, s, d, ip, mx, cause) for ip, mx in pairs]
    if full:
        dev = Evidence("domain", s, d, None, None, made[-1].cause, made[-1].templates)
        dev.pair_blocks = list(range(len(w.ip_blocks) - len(made), len(w.ip_blocks)))
        w.domain_blocks.append(dev)


def _partial_pairs(w: World, s: int, d: int, limit: int) -> list[tuple[str, MX]]:
    """A proper, non-empty subset of the (IP, MX) pairs: IP-wise, as reputation is per IP."""
    r = w.r
    ips, mxs = w.streams[s].ips, w.domains[d].mx
    k = r.randint(1, len(ips))
    chosen_ips = sorted(r.sample(range(len(ips)), k))
    pairs: list[tuple[str, MX]] = []
    for i in chosen_ips:
        if r.random() < 0.6 or len(mxs) == 1:
            sub = list(range(len(mxs)))
        else:
            sub = sorted(r.sample(range(len(mxs)), r.randint(1, len(mxs))))
        pairs += [(ips[i], mxs[j]) for j in sub]
    total = len(ips) * len(mxs)
    if len(pairs) >= total:
        pairs.pop(r.randrange(len(pairs)))
    return pairs[: max(1, limit)]


def make_blocks(w: World) -> None:
    r = w.r
    budget = w.n_blocks
    if budget <= 0:
        return
    target_domain = max(1, round(budget / 5))
    n_domain_only = max(2, target_domain // 25) if budget >= 10 else 1
    full_target = max(0, target_domain - n_domain_only)
    used: set[tuple[int, int]] = set()
    eligible = [i for i, d in enumerate(w.domains) if d.owns_all]
    providers = [i for i in eligible if w.domains[i].provider]
    business = [i for i in eligible if not w.domains[i].provider]
    count = 0
    full_count = 0

    # Phase 1: the mailbox providers, about 40% of the pairs, shared out by volume so
    # Gmail, Yahoo and Microsoft carry most of them.
    provider_budget = min(budget, round(budget * 0.4))
    pw = [w.domains[d].weight ** 0.6 for d in providers]
    psum = sum(pw) or 1.0
    for rank, d in enumerate(providers):
        target = max(1, round(provider_budget * pw[rank] / psum))
        got = 0
        order = list(range(len(w.streams)))
        r.shuffle(order)
        for s in order:
            room = min(target - got, provider_budget - count)
            if room <= 0:
                break
            if rank >= 3 and r.random() < 0.3:
                continue
            ips, mxs = w.streams[s].ips, w.domains[d].mx
            cost = len(ips) * len(mxs)
            if r.random() < 0.15 and cost <= room and full_count < full_target:
                pairs = [(ip, mx) for ip in ips for mx in mxs]
                _add_combo(w, s, d, pairs, True)
                full_count += 1
            else:
                pairs = _partial_pairs(w, s, d, room)
                if not pairs:
                    continue
                _add_combo(w, s, d, pairs, False)
            count += len(pairs)
            got += len(pairs)
            used.add((s, d))

    # Phase 2: business domains, weighted towards the busy ones.
    combos = [(s, d) for d in business for s in range(len(w.streams))]
    keyed = []
    for s, d in combos:
        weight = math.sqrt(w.domains[d].weight) * (0.5 + w.streams[s].share)
        keyed.append((math.log(r.random() or 1e-300) / max(weight, 1e-12), s, d))
    keyed.sort(reverse=True)
    order = [(s, d) for _, s, d in keyed]
    leftover: list[tuple[int, int]] = []
    for s, d in order:
        if count >= budget:
            break
        cost = len(w.streams[s].ips) * len(w.domains[d].mx)
        need = full_target - full_count
        remaining = budget - count
        if need > 0:
            allowed = max(2.0, (remaining * 0.85) / need)
            if cost <= allowed and cost <= remaining:
                pairs = [(ip, mx) for ip in w.streams[s].ips for mx in w.domains[d].mx]
                _add_combo(w, s, d, pairs, True)
                full_count += 1
                count += cost
                used.add((s, d))
                continue
        leftover.append((s, d))
    for s, d in leftover:
        if count >= budget:
            break
        if len(w.streams[s].ips) * len(w.domains[d].mx) < 2:
            continue
        if full_count >= full_target and r.random() < 0.35:
            continue  # leave room for more domains in the partial list
        pairs = _partial_pairs(w, s, d, budget - count)
        if pairs:
            _add_combo(w, s, d, pairs, False)
            count += len(pairs)
            used.add((s, d))
    # Top up from anything left (small or odd scales).
    if count < budget:
        for s, d in [(s, d) for d in eligible for s in range(len(w.streams))]:
            if count >= budget:
                break
            if (s, d) in used:
                continue
            pairs = _partial_pairs(w, s, d, budget - count)
            if len(pairs) == len(w.streams[s].ips) * len(w.domains[d].mx):
                _add_combo(w, s, d, pairs, True)
            else:
                _add_combo(w, s, d, pairs, False)
            count += len(pairs)
            used.add((s, d))

    # Domain-only blocks: on the domain page only (ListManager shows those).
    free = [(s, d) for s, d in order if (s, d) not in used]
    free += [(s, d) for d in providers for s in range(len(w.streams)) if (s, d) not in used]
    for s, d in free[:n_domain_only]:
        style = w.domains[d].style
        cause = _combo_cause(w, w.streams[s], style)
        dev = Evidence("domain", s, d, None, None, cause, BLOCK_TEMPLATES[style][cause])
        w.domain_blocks.append(dev)
        used.add((s, d))

    # Times, retries, evidence sizes.
    total_blocks = len(w.ip_blocks) + sum(1 for b in w.domain_blocks if not b.pair_blocks)
    per_block = w.n_attempts * 0.12 / max(1, total_blocks)
    per_block = max(2.0, min(40.0, per_block))
    # Full combos share a base time; pairs get blocked within a few hours of each other.
    combo_base: dict[tuple[int, int], int] = {}
    for ev in w.ip_blocks + [b for b in w.domain_blocks if not b.pair_blocks]:
        key = (ev.stream, ev.domain)
        if key not in combo_base:
            combo_base[key] = _since(w)
        base = combo_base[key]
        ev.since = max(w.start_sec + 3600, base - r.randrange(0, 3 * 3600))
        ev.primary = r.randrange(len(ev.templates))
        perm = r.random() < ev.templates[ev.primary][1]
        ev.next_retry = None if perm else _next_retry(w, ev.since)
        ev.n_events = max(1, int(per_block * r.uniform(0.5, 1.5)))
        ev.short_description = r.random() < 0.25
    for dev in w.domain_blocks:
        if dev.pair_blocks:
            pairs = [w.ip_blocks[i] for i in dev.pair_blocks]
            last = max(pairs, key=lambda b: b.since)
            dev.since = last.since
            dev.cause, dev.templates, dev.primary = last.cause, last.templates, last.primary
            retries = [b.next_retry for b in pairs if b.next_retry is not None]
            dev.next_retry = min(retries) if retries else None
    for ev in w.ip_blocks:
        assert ev.ip is not None and ev.mx is not None
        w.blocked_pairs[(ev.ip, ev.mx[2])] = ev.since
        for index in w.mx_users.get(ev.mx[2], ()):
            w.domains[index].risky[ev.stream] = True
    for dev in w.domain_blocks:
        key = (dev.stream, dev.domain)
        w.blocked_domains[key] = min(w.blocked_domains.get(key, dev.since), dev.since)
        w.domains[dev.domain].risky[dev.stream] = True
    # One stale block: a provider MX IP with blocks that DNS no longer lists (MX moved).
    multi = [
        ev
        for ev in w.ip_blocks
        if w.domains[ev.domain].provider and len(w.domains[ev.domain].mx) > 1
    ]
    if multi:
        ev = multi[r.randrange(len(multi))]
        assert ev.mx is not None
        w.stale_mx[ev.mx[2]] = w.domains[ev.domain].name
    # Hostile replies: on business blocks when there are any (their replies vary most).
    candidates = (
        [
            ev
            for ev in w.ip_blocks
            if ev.next_retry is not None and not w.domains[ev.domain].provider
        ]
        or [ev for ev in w.ip_blocks if ev.next_retry is not None]
        or list(w.ip_blocks)
    )
    if candidates:
        picks = r.sample(range(len(candidates)), min(3, len(candidates)))
        for kind, index in zip(("markup", "ansi", "long"), picks, strict=False):
            candidates[index].hostile = kind


def _since(w: World) -> int:
    """When a block started: mostly in the last day, some up to six days back."""
    r = w.r
    roll = r.random()
    if roll < 0.5:
        back = r.uniform(0.25, 24) * 3600
    elif roll < 0.85:
        back = r.uniform(24, 72) * 3600
    else:
        back = r.uniform(72, 156) * 3600
    return max(w.start_sec + 3600, int(w.total_secs - back))


def _next_retry(w: World, since: int) -> int:
    """Hourly re-probes from BlockedSince: the next one is within the coming hour."""
    hours = (w.total_secs - since) // 3600 + 1
    return since + hours * 3600
