"""A stricter Domain Connection Limit for a throttled receiver."""

from __future__ import annotations

from tui.db.records import ConnectionLimit
from tui.diagnose import playbook as PB

# --------------------------------------------------------------------------- limits


def propose_limit(
    current: ConnectionLimit, provider: str = "unknown", *, volume: bool = False
) -> ConnectionLimit | None:
    """A stricter Domain Connection Limit than ``current``, or None when none is possible.

    Connections are halved (floor 2, or 1 for receivers that want very few connections or when
    the limit is already 2 or less) and capped at the provider's known ceiling. For a volume
    throttle the hourly and per-connection caps are set when unset (the provider's starting
    values) and the hourly cap is halved when set.
    """
    row = PB.PROVIDERS.get(provider)
    few = bool(row and row.max_connections)
    now = current.connections
    floor = PB.MIN_CONNECTIONS if (few or now <= 2) else 2
    connections = max(floor, now // 2)
    if row and row.max_connections:
        connections = min(connections, row.max_connections)
    connections = max(PB.MIN_CONNECTIONS, min(connections, now))
    per_hour = current.per_hour if current.per_hour and current.per_hour > 0 else None
    per_connection = (
        current.per_connection if current.per_connection and current.per_connection > 0 else None
    )
    if volume:
        per_hour = max(1, per_hour // 2) if per_hour else (row.per_hour if row else 60)
        per_connection = per_connection or (row.per_connection if row else 20)
    elif connections == now and per_hour:
        per_hour = max(1, per_hour // 2)
    proposal = ConnectionLimit(current.domain, connections, per_hour, per_connection, False)
    same = (
        proposal.connections == now
        and proposal.per_hour == (current.per_hour or None)
        and proposal.per_connection == (current.per_connection or None)
    )
    return None if same else proposal
