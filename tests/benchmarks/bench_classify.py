"""Throughput of :func:`tui.diagnose.classify.classify` on a realistic corpus with repeats.

The corpus is built from the labelled sample replies with their variable parts randomised
(sending IPs, queue/message IDs, recipient addresses, receiving host numbers, timestamps), then
drawn with repeats the way a delivery log repeats the same replies: by default 200,000 replies
of which about 5% are distinct. It prints replies/second with the cache cleared first (cold:
every distinct reply is classified once, the rest are cache hits) and with the cache already
filled (warm), plus the cost of one cache miss. Then it prints the accuracy on every labelled
corpus of ``tests/data`` and, per category, on the held-out one (``tests/support/corpora.py``).

Run: ``python -m tests.benchmarks.bench_classify`` (or ``python tests/benchmarks/bench_classify.py``)
with ``--replies N --distinct-share F --seed S``; ``--accuracy-only`` prints just the accuracy.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support import corpora  # noqa: E402
from tui.diagnose import classify as classify_module  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "smtp-samples.csv"
EXTRA = Path(__file__).resolve().parents[1] / "data" / "extra-replies.csv"

_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|x\.xx\.xx\.xx")
_EMAIL = re.compile(r"[\w.*+-]+@[\w-]+(?:\.[\w-]+)+")
_GMAIL_ID = re.compile(r"\S+(?= - gsmtp)")
_NODE = re.compile(r"\b([a-z]+)(\d+)\b")


def load_templates() -> list[tuple[str, int | None]]:
    """(reply text, smtp code) from the sample CSVs."""
    out: list[tuple[str, int | None]] = []
    for path in (SAMPLES, EXTRA):
        if not path.exists():
            continue
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                code = int(row["smtp_code"]) if row.get("smtp_code") else None
                out.append((row["response_text"], code))
    if not out:
        raise SystemExit(f"no sample replies found at {SAMPLES}")
    return out


def vary(text: str, rng: random.Random) -> str:
    """The same reply as another delivery would see it: other IPs, IDs, addresses, nodes."""
    text = _IPV4.sub(lambda _: ".".join(str(rng.randint(1, 254)) for _ in range(4)), text)
    text = _EMAIL.sub(
        lambda _: f"user{rng.randint(1, 10**6)}@example{rng.randint(1, 99)}.com", text
    )
    text = _GMAIL_ID.sub(
        lambda _: f"{rng.getrandbits(40):x}si{rng.randint(10**6, 10**7)}.{rng.randint(1, 999)}",
        text,
    )
    text = _NODE.sub(lambda m: m.group(1) + str(rng.randint(1, 9999)), text)
    if rng.random() < 0.3:
        text += f" (queue id {rng.getrandbits(48):X})"
    return text


def build_corpus(
    replies: int, distinct_share: float, seed: int
) -> tuple[list[tuple[str, int | None]], int]:
    """``replies`` replies drawn with repeats from about ``replies * distinct_share`` variants."""
    rng = random.Random(seed)
    templates = load_templates()
    n_distinct = max(len(templates), int(replies * distinct_share))
    seen = dict.fromkeys(templates)
    while len(seen) < n_distinct:
        text, code = rng.choice(templates)
        varied = vary(text, rng)
        if (varied, code) in seen:  # nothing variable in this reply: vary its queue id
            varied = f"{varied} (queue id {rng.getrandbits(48):X})"
        seen.setdefault((varied, code), None)
    variants = list(seen)
    # A few replies dominate a real log: draw with a skewed (Zipf-like) weight.
    weights = [1.0 / (i + 1) ** 0.6 for i in range(len(variants))]
    rng.shuffle(variants)
    corpus = rng.choices(variants, weights=weights, k=replies)
    # Every variant appears at least once, so the distinct count is what was asked for.
    for i, variant in enumerate(variants):
        corpus[(i * 7919) % replies] = variant
    return corpus, len(set(corpus))


def run(corpus: list[tuple[str, int | None]]) -> float:
    """Seconds to classify the whole corpus."""
    classify = classify_module.classify
    start = time.perf_counter()
    for text, code in corpus:
        classify(text, code)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=200_000)
    parser.add_argument("--distinct-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="best of N rounds")
    parser.add_argument("--accuracy-only", action="store_true", help="skip the throughput")
    args = parser.parse_args(argv)
    if args.accuracy_only:
        print(corpora.report(corpora.score_all()))
        return 0

    corpus, distinct = build_corpus(args.replies, args.distinct_share, args.seed)
    print(f"corpus: {len(corpus):,} replies, {distinct:,} distinct ({distinct / len(corpus):.1%})")

    cold = []
    for _ in range(args.rounds):
        classify_module.clear_cache()
        cold.append(run(corpus))
    warm = [run(corpus) for _ in range(args.rounds)]

    unique = list(dict.fromkeys(corpus))
    classify_module.clear_cache()
    start = time.perf_counter()
    for text, code in unique:
        classify_module.classify(text, code)
    miss = (time.perf_counter() - start) / len(unique)

    n = len(corpus)
    print(f"cold (cache cleared): {n / min(cold):>12,.0f} replies/s  ({min(cold):.3f} s)")
    print(f"warm (cache filled):  {n / min(warm):>12,.0f} replies/s  ({min(warm):.3f} s)")
    print(f"one cache miss:       {miss * 1e6:>12,.1f} µs  ({1 / miss:,.0f} distinct replies/s)")
    classify_module.clear_cache()
    print(corpora.report(corpora.score_all()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
