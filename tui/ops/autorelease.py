"""Release by policy: pick the blocks a policy allows, judge each by its advice, release them.

The order of every run, dry or not:

1. read the blocks (oldest first, without evidence) and keep those a rule could match by
   stream, kind and age (a block without BlockedSince has no age and is skipped);
2. judge them one by one (at most :data:`MAX_JUDGED` a run): the advice (with the block's
   history: a block that came back soon after a release is "after-fix", never "now") must say
   *release now* and its category and provider must be in the rule. A domain row goes with
   its IP pairs (:mod:`tui.db.release_plan`), so each of those pairs is judged too, and the
   domain is skipped if any of them should wait;
3. stop at the run's cap and each rule's cap (counted in block rows released);
4. dry run: read which rows would go; ``apply``: release them with
   :func:`tui.db.release.release_blocks` (re-checked identity, one transaction, an audit event
   of action ``autorelease``, undoable like any release);
5. audit the run itself (action ``autorelease-run``): the policy (path, SHA-256, rules), every
   decision with its reason, and the release event it made.

A read-only core refuses ``apply`` (the refusal is audited too).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from tui.core import Core
from tui.db import queries
from tui.db.audit import COMMITTED, FAILED, AuditRow
from tui.db.queries import BlockFilter
from tui.db.records import Block, BlockKey
from tui.db.release import ReleaseResult, release_blocks, touched_text
from tui.db.release_plan import CHOSEN, WITH_DOMAIN, BlockRef, PlannedRow, ReleasePlan, plan_release
from tui.errors import NotFoundError, ReadOnlyError
from tui.ops.policy import Policy, Rule
from tui.triage.release_advice import MAX_JUDGED

MAX_CANDIDATES = 100_000  # block rows read per run
MAX_DECISIONS = 2_000  # decisions kept (listed and audited) per run
EVIDENCE_PAGE = 100
RUN_ACTION = "autorelease-run"
RELEASE_ACTION = "autorelease"
# Decisions: RELEASE while selecting; after the run one of the others.
RELEASE, SKIP = "release", "skipped"
RELEASED, WOULD_RELEASE, GONE, CHANGED, FAILED_OUTCOME = (
    "released",
    "would-release",
    "gone",
    "changed",
    "failed",
)


@dataclass(slots=True)
class Decision:
    """What the run decided for one block, and why."""

    block: Block
    outcome: str  # release / skip (after the release: released, gone, changed, failed)
    reason: str
    rule: str | None = None
    category: str | None = None
    provider: str | None = None
    when: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The documented JSON fields of ``autorelease`` decisions."""
        b = self.block
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "rule": self.rule,
            "block": str(b.key),
            "stream": b.stream_name,
            "domain": b.domain,
            "ip": b.ip,
            "blocking_mx": b.mx,
            "blocked_since": b.since,
            "category": self.category,
            "provider": self.provider,
            "advice": self.when,
        }


@dataclass(slots=True)
class AutoreleaseRun:
    """One run of a policy."""

    policy: Policy
    dry_run: bool
    mode: str
    decisions: list[Decision] = field(default_factory=list)
    plan: ReleasePlan = field(default_factory=ReleasePlan)
    result: ReleaseResult | None = None
    candidates: int = 0  # blocks a rule could match by stream, kind and age
    judged: int = 0  # blocks whose advice was read
    unjudged: int = 0  # candidates left for the next run (a cap or the judging bound)
    more_decisions: int = 0  # decisions beyond MAX_DECISIONS (counted, not listed)
    truncated: bool = False  # more blocks than MAX_CANDIDATES
    run_event: int | None = None
    audit_error: str | None = None
    refused: str | None = None

    def counts(self) -> Counter[str]:
        """Decisions by outcome."""
        return Counter(d.outcome for d in self.decisions)

    def summary(self) -> str:
        """One line for people."""
        c = self.counts()
        if self.refused:
            return f"refused: {self.refused}"
        done = (
            f"would release {c.get(WOULD_RELEASE, 0):,} block row(s)"
            if self.dry_run
            else f"released {c.get(RELEASED, 0):,} block row(s)"
        )
        text = (
            f"{done} by policy {self.policy.path.name}; {c.get(SKIP, 0) + self.more_decisions:,} "
            f"skipped; {self.candidates:,} candidate(s), {self.judged:,} judged"
        )
        if self.unjudged:
            text += f", {self.unjudged:,} left for the next run"
        if self.result is not None and (self.result.gone or self.result.changed):
            text += (
                f"; {len(self.result.gone):,} already gone, "
                f"{len(self.result.changed):,} changed since read (left alone)"
            )
        if self.result is not None and self.result.error:
            text += f"; the release failed: {self.result.error}"
        return text

    def to_json(self) -> dict[str, Any]:
        """The documented JSON of ``lmtriage autorelease``."""
        c = self.counts()
        return {
            "dry_run": self.dry_run,
            "mode": self.mode,
            "policy": self.policy.to_json(),
            "candidates": self.candidates,
            "judged": self.judged,
            "unjudged": self.unjudged,
            "selected": len(self.plan.rows),
            "released": c.get(RELEASED, 0),
            "skipped": c.get(SKIP, 0) + self.more_decisions,
            "refused": self.refused,
            "release_event": self.result.event_id if self.result and not self.dry_run else None,
            "run_event": self.run_event,
            "audit_error": self.audit_error,
            "error": self.result.error if self.result else None,
            "decisions": [d.to_json() for d in self.decisions],
        }


# --------------------------------------------------------------------------- selection


def _stream_ids(policy: Policy, names: dict[int, str]) -> dict[str, set[int] | None]:
    """Rule name → the stream ids it covers (None: every stream); unknown names refused."""
    by_name = {n.lower(): i for i, n in names.items()}
    out: dict[str, set[int] | None] = {}
    for rule in policy.rules:
        if rule.streams is None:
            out[rule.name] = None
            continue
        ids = set()
        for name in rule.streams:
            if name in by_name:
                ids.add(by_name[name])
            elif name.isdigit() and int(name) in names:
                ids.add(int(name))
            else:
                raise NotFoundError(
                    f"policy rule {rule.name!r}: no MailStream named {name!r} "
                    f"(streams: {', '.join(list(names.values())[:20])})",
                    exit_code=2,
                )
        out[rule.name] = ids
    return out


class _Selector:
    def __init__(self, core: Core, conn: Connection, policy: Policy, run: AutoreleaseRun) -> None:
        self.core = core
        self.conn = conn
        self.policy = policy
        self.run = run
        self.now: datetime = core.now()
        self.names = queries.stream_names(core.schema, conn)
        self.rule_streams = _stream_ids(policy, self.names)
        self.selected: dict[BlockKey, PlannedRow] = {}
        self.per_rule: Counter[str] = Counter()

    def decide(self, decision: Decision) -> None:
        if len(self.run.decisions) < MAX_DECISIONS:
            self.run.decisions.append(decision)
        else:
            self.run.more_decisions += 1

    def rules_for(self, block: Block) -> list[Rule]:
        """Rules whose stream, kind and age the block meets."""
        out = []
        for rule in self.policy.rules:
            streams = self.rule_streams[rule.name]
            if block.kind not in rule.kinds or (streams is not None and block.stream_id not in streams):
                continue
            if block.since is not None and self.now - block.since >= rule.min_age:
                out.append(rule)
        return out

    def candidates(self) -> list[tuple[Block, list[Rule]]]:
        kinds = sorted({k for r in self.policy.rules for k in r.kinds})
        blocks: list[Block] = []
        for kind in kinds:
            filt = BlockFilter(kind, sort="since")  # type: ignore[arg-type]
            ids = queries.block_keys(self.core.schema, self.conn, filt, limit=MAX_CANDIDATES + 1)
            if len(ids) > MAX_CANDIDATES:
                ids, self.run.truncated = ids[:MAX_CANDIDATES], True
            blocks += queries.fetch_blocks(
                self.core.schema, self.conn, kind, ids, since=None, names=self.names  # type: ignore[arg-type]
            )
        out = []
        for block in sorted(blocks, key=lambda b: (b.since is None, b.since or self.now, str(b.key))):
            rules = self.rules_for(block)
            if rules:
                out.append((block, rules))
            elif block.since is None and any(
                block.kind in r.kinds
                and (self.rule_streams[r.name] is None or block.stream_id in self.rule_streams[r.name])  # type: ignore[operator]
                for r in self.policy.rules
            ):
                self.decide(Decision(block, SKIP, "no BlockedSince: its age is unknown"))
        return out

    def advise(self, block: Block) -> Any:
        """The block's advice, with its history as the last step; a row lmtriage already
        released that is still there (``retry-now``: ListManager has not retried it yet) is
        "after-fix" here, so a policy does not release it again and again."""
        from dataclasses import replace

        from tui.diagnose.advice import ReleaseAdvice
        from tui.triage.block_advice import advise_block, block_history

        self.run.judged += 1
        history = block_history(self.core, self.conn, block)
        advice = advise_block(self.core, self.conn, block, history=history)[0]
        last = history.last_release
        if (
            last is not None
            and block.since is not None
            and last.blocked_since == block.since
            and advice.release.when == "now"
        ):
            when = f"{last.released_at:%Y-%m-%d %H:%M}"
            advice = replace(
                advice,
                release=ReleaseAdvice(
                    when="after-fix",
                    reason=f"this very block row was already released at {when} (audit event "
                    f"{last.event_id}, mode {last.mode}) and ListManager has not retried it yet",
                ),
            )
        return advice

    def select(self) -> None:
        eligible = self.candidates()
        self.run.candidates = len(eligible)
        for start in range(0, len(eligible), EVIDENCE_PAGE):
            page = eligible[start : start + EVIDENCE_PAGE]
            if self.rows_selected() >= self.policy.max_blocks or self.run.judged >= MAX_JUDGED:
                self.run.unjudged += sum(1 for b, _r in page if b.key not in self.selected)
                continue
            for kind in ("domain", "ip"):
                todo = [b for b, _r in page if b.kind == kind]
                if todo:
                    queries.fetch_evidence(
                        self.core.schema, self.conn, kind, todo, since=self.core.since()
                    )
            for block, rules in page:
                self.consider(block, rules)

    def rows_selected(self) -> int:
        return len(self.selected)

    def consider(self, block: Block, rules: list[Rule]) -> None:
        if block.key in self.selected:
            return  # an IP pair that goes with a domain row chosen before
        if self.rows_selected() >= self.policy.max_blocks or self.run.judged >= MAX_JUDGED:
            self.run.unjudged += 1
            return
        open_rules = [r for r in rules if r.max_blocks is None or self.per_rule[r.name] < r.max_blocks]
        if not open_rules:
            self.decide(
                Decision(block, SKIP, f"rule {rules[0].name}'s cap of {rules[0].max_blocks} a run was reached", rules[0].name)
            )
            return
        advice = self.advise(block)
        decision = Decision(
            block, SKIP, "", category=advice.category, provider=advice.provider, when=advice.release.when
        )
        rule = next(
            (
                r
                for r in open_rules
                if advice.category in r.categories
                and (r.providers is None or advice.provider.lower() in r.providers)
            ),
            None,
        )
        if rule is None:
            decision.reason = (
                f"its advice ({advice.category}, {advice.provider}) is in no rule that applies"
            )
            self.decide(decision)
            return
        decision.rule = rule.name
        if advice.release.when != "now":
            until = (
                f" until {advice.release.not_before:%Y-%m-%d %H:%M}"
                if advice.release.when == "wait" and advice.release.not_before
                else ""
            )
            decision.reason = f"the advice says {advice.release.when}{until}: {advice.release.reason}"
            self.decide(decision)
            return
        rows = [PlannedRow(BlockRef.of(block), block.stream_name, CHOSEN)]
        attached: list[tuple[Block, Any]] = []
        if block.kind == "domain":
            plan = plan_release(
                self.core.schema,
                self.conn,
                [(BlockRef.of(block), block.stream_name)],
                names=self.names,
            )
            pair_ids = [r.ref.key.block_id for r in plan.attached if r.ref.key not in self.selected]
            pairs = queries.fetch_blocks(
                self.core.schema, self.conn, "ip", pair_ids, since=self.core.since(), names=self.names
            )
            if self.run.judged + len(pairs) > MAX_JUDGED + EVIDENCE_PAGE:
                decision.reason = f"its {len(pairs)} IP pairs are more than one run judges"
                self.decide(decision)
                return
            for pair in pairs:
                pair_advice = self.advise(pair)
                if pair_advice.release.when != "now":
                    decision.reason = (
                        f"it goes with its IP pair {pair.ip} → {pair.mx}, whose advice says "
                        f"{pair_advice.release.when}: {pair_advice.release.reason}"
                    )
                    self.decide(decision)
                    return
                attached.append((pair, pair_advice))
                rows.append(PlannedRow(BlockRef.of(pair), pair.stream_name, WITH_DOMAIN))
        left = self.policy.max_blocks - self.rows_selected()
        if len(rows) > left:
            decision.reason = (
                f"it takes {len(rows)} block row(s) and the run's cap of "
                f"{self.policy.max_blocks} leaves {left}"
            )
            self.decide(decision)
            return
        if rule.max_blocks is not None and self.per_rule[rule.name] + len(rows) > rule.max_blocks:
            decision.reason = (
                f"it takes {len(rows)} block row(s) and rule {rule.name}'s cap of "
                f"{rule.max_blocks} leaves {rule.max_blocks - self.per_rule[rule.name]}"
            )
            self.decide(decision)
            return
        decision.outcome = RELEASE
        decision.reason = f"rule {rule.name}: {advice.release.reason}"
        self.decide(decision)
        for pair, pair_advice in attached:
            self.decide(
                Decision(
                    pair,
                    RELEASE,
                    f"with its domain row {block.key}: {pair_advice.release.reason}",
                    rule.name,
                    pair_advice.category,
                    pair_advice.provider,
                    pair_advice.release.when,
                )
            )
        for row in rows:
            self.selected[row.ref.key] = row
        self.per_rule[rule.name] += len(rows)


def select_for_policy(core: Core, conn: Connection, run: AutoreleaseRun) -> None:
    """Fill ``run`` with its decisions and the plan of the rows to release."""
    selector = _Selector(core, conn, run.policy, run)
    selector.select()
    run.plan = ReleasePlan(
        rows=list(selector.selected.values()),
        scope=f"policy {run.policy.path.name}",
    )


# --------------------------------------------------------------------------- the run


def _streams_label(plan: ReleasePlan) -> str:
    names = sorted({r.stream_name for r in plan.rows})
    if not names:
        return "no blocks"
    text = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return text[:200]


def _settle_outcomes(run: AutoreleaseRun) -> None:
    """Each chosen block's outcome as the release (or the dry run's read) found it."""
    result = run.result
    word = {}
    if result is not None:
        for keys, outcome in (
            (result.released, WOULD_RELEASE if run.dry_run else RELEASED),
            (result.gone, GONE),
            (result.changed, CHANGED),
            (result.failed, FAILED_OUTCOME),
        ):
            word.update({k: outcome for k in keys})
    for d in run.decisions:
        if d.outcome == RELEASE:
            d.outcome = word.get(d.block.key, FAILED_OUTCOME if result is not None else SKIP)


def _audit_run(core: Core, run: AutoreleaseRun, error: str | None = None) -> None:
    """Record the run (decisions, policy, outcome); a failure to do so is reported."""
    result = run.result if not run.dry_run else None
    rows = [
        AuditRow(
            kind=d.block.kind,
            key=str(d.block.key),
            row=json.loads(json.dumps(d.to_json(), default=str)),
            outcome=d.outcome,
        )
        for d in run.decisions
    ]
    summary = {
        "policy": run.policy.to_json(),
        "dry_run": run.dry_run,
        "candidates": run.candidates,
        "judged": run.judged,
        "unjudged": run.unjudged,
        "skipped": run.counts().get(SKIP, 0) + run.more_decisions,
        "release_event": result.event_id if result is not None else None,
        "refused": run.refused,
    }
    try:
        audit = core.audit
        event_id = audit.begin(
            RUN_ACTION,
            core.audit_context(),
            stream=_streams_label(run.plan),
            mode="dry-run" if run.dry_run else run.mode,
            rows=rows,
            requested=len(run.plan.rows),
            summary=json.dumps(summary, default=str),
            touched=touched_text([r.ref for r in run.plan.rows]) or "nothing",
        )
        audit.finish(
            event_id,
            FAILED if error else COMMITTED,
            released=len(result.released) if result else 0,
            already_gone=len(result.gone) + len(result.changed) if result else 0,
            failed=len(result.failed) if result else 0,
            error=error,
            note=run.summary(),
        )
        run.run_event = event_id
    except Exception as err:  # noqa: BLE001 - the release stands; say the audit lags
        from tui.db.errors import describe_exception

        run.audit_error = f"the run could not be audited: {describe_exception(err)}"


def _settle_pending(core: Core) -> list[str]:
    from tui.db.reconcile import reconcile_pending

    return [
        o.line()
        for o in reconcile_pending(core.schema, core.engine, core.audit, core.display_url)
        if o.status != "pending"
    ]


def run_autorelease(core: Core, policy: Policy, *, apply: bool) -> AutoreleaseRun:
    """Select, then read (dry run) or release (``apply``), then audit the run."""
    mode = policy.mode or core.config.release_mode
    run = AutoreleaseRun(policy=policy, dry_run=not apply, mode=mode)
    if apply:
        refusal = None
        if core.read_only:
            refusal = f"writes are off ({core.read_only_reason})"
        elif gap := core.schema.discovery.privilege_gaps(f"release_{mode}"):
            refusal = gap
        if refusal is not None:
            run.refused = refusal
            _audit_run(core, run, error=f"refused: {refusal}")
            raise ReadOnlyError(f"autorelease refused: {refusal}")
    with core.connect() as conn:
        select_for_policy(core, conn, run)
        conn.rollback()
    if run.plan.rows:
        if apply:
            _settle_pending(core)
        run.result = release_blocks(
            core.schema,
            core.engine,
            None if not apply else core.audit,
            core.audit_context(),
            run.plan.refs,
            mode=mode,
            now=core.now(),
            stream_label=_streams_label(run.plan),
            action=RELEASE_ACTION,
            dry_run=not apply,
            read_only=core.read_only,
        )
    _settle_outcomes(run)
    _audit_run(core, run, error=run.result.error if run.result else None)
    return run
