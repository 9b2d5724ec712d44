"""A small authoritative DNS server on loopback, for tests, the benchmark and the offline demo.

It serves standard zone files (``dns.zone.from_file``) over UDP and TCP on one port, answers
NXDOMAIN and NODATA with the zone's SOA, follows CNAMEs inside its zones, expands ``*``
wildcards, sets TC when a UDP answer does not fit (512 bytes, or the client's EDNS size) so
clients must retry over TCP, and answers REFUSED for names outside its zones. Delegations are
not implemented: a zone is answered as if it held every name below it.

Per-zone behaviours (see :class:`Behaviour`) simulate a slow, broken or dead server:
``delay_ms`` adds latency, ``servfail``/``refused`` answer that rcode, ``drop`` never answers,
``truncate`` sets TC on every UDP answer; ``rdtypes`` limits the behaviour to some query types
(e.g. SERVFAIL for A and AAAA while MX is answered).

Use it in-process (``port = server.start_in_thread()``; ``server.stop_thread()``) or as a
subprocess::

    python -m tui.checks.dns_server --port 0 --zone-dir DIR [--delay-ms 50] [--behaviour zen.test=drop]

which prints ``listening on 127.0.0.1:PORT`` once ready.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import struct
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.node
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

_MAX_CNAME_CHAIN = 8


@dataclass
class Behaviour:
    """How the server misbehaves for one zone (or for all zones, as the default)."""

    delay_ms: float = 0.0
    servfail: bool = False
    refused: bool = False
    drop: bool = False
    truncate: bool = False
    rdtypes: frozenset[str] = frozenset()
    """Query types (``"A"``, ``"TXT"``) the behaviour applies to; empty means every type."""

    def applies_to(self, rdtype: int) -> bool:
        """Whether a query of ``rdtype`` gets this behaviour."""
        return not self.rdtypes or dns.rdatatype.to_text(rdtype) in self.rdtypes

    @classmethod
    def parse(cls, text: str) -> Behaviour:
        """``"drop"``, ``"servfail"``, ``"delay_ms=50"``, ``"truncate,delay_ms=10"``,
        ``"servfail,rdtypes=A/AAAA"``."""
        behaviour = cls()
        for item in filter(None, (p.strip() for p in text.split(","))):
            key, _, value = item.partition("=")
            key = key.replace("-", "_")
            if key == "delay_ms":
                behaviour.delay_ms = float(value)
            elif key == "rdtypes" and value:
                behaviour.rdtypes = frozenset(
                    t.strip().upper() for t in value.split("/") if t.strip()
                )
            elif key in {f.name for f in fields(cls)} - {"rdtypes"} and not value:
                setattr(behaviour, key, True)
            else:
                raise ValueError(f"unknown behaviour {item!r}")
        return behaviour


_NORMAL = Behaviour()


@dataclass
class ServerStats:
    """Counters, so tests can prove what went over which transport."""

    udp_queries: int = 0
    tcp_queries: int = 0
    truncated: int = 0
    dropped: int = 0
    by_zone: dict[str, int] = field(default_factory=dict)


def load_zone_text(origin: str, text: str) -> dns.zone.Zone:
    """Parse zone-file ``text`` with ``origin`` (absolute names are kept absolute)."""
    return dns.zone.from_text(text, origin=origin, relativize=False, check_origin=True)


def load_zone_dir(directory: str | Path) -> dict[str, dns.zone.Zone]:
    """Every ``*.zone`` file of ``directory``; the origin is the file name without ``.zone``
    unless the file sets ``$ORIGIN``."""
    zones: dict[str, dns.zone.Zone] = {}
    for path in sorted(Path(directory).glob("*.zone")):
        origin = path.name[: -len(".zone")]
        zone = dns.zone.from_file(str(path), origin=origin, relativize=False, check_origin=True)
        zones[zone.origin.to_text()] = zone
    return zones


class _Zone:
    """A loaded zone plus the empty non-terminals dnspython does not store as nodes."""

    def __init__(self, zone: dns.zone.Zone) -> None:
        self.zone = zone
        self.origin: dns.name.Name = zone.origin
        names = set(zone.nodes.keys())
        self.existing: set[dns.name.Name] = set(names)
        for name in names:
            parent = name
            while parent != self.origin and len(parent) > len(self.origin):
                parent = parent.parent()
                self.existing.add(parent)
        soa = zone.get_rdataset(self.origin, dns.rdatatype.SOA)
        if soa is None:
            raise ValueError(f"zone {self.origin} has no SOA")
        self.soa = dns.rrset.from_rdata_list(self.origin, soa.ttl, list(soa))


class DnsServer:
    """An authoritative server for a set of zones on ``host``:``port`` (UDP and TCP)."""

    def __init__(
        self,
        zones: Mapping[str, dns.zone.Zone] | Iterable[dns.zone.Zone] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        behaviours: Mapping[str, Behaviour] | None = None,
        default: Behaviour | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.zones: dict[dns.name.Name, _Zone] = {}
        items = zones.values() if isinstance(zones, Mapping) else zones
        for zone in items:
            self.add_zone(zone)
        self.behaviours: dict[dns.name.Name, Behaviour] = {}
        for name, behaviour in (behaviours or {}).items():
            self.set_behaviour(name, behaviour)
        self.default = default or Behaviour()
        self.stats = ServerStats()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- configuration -------------------------------------------------------------------

    @classmethod
    def from_zone_dir(cls, directory: str | Path, **kwargs: object) -> DnsServer:
        """A server for every ``*.zone`` file in ``directory``."""
        return cls(load_zone_dir(directory), **kwargs)  # type: ignore[arg-type]

    def add_zone(self, zone: dns.zone.Zone) -> None:
        """Serve ``zone`` (replacing a zone of the same origin)."""
        self.zones[zone.origin] = _Zone(zone)

    def add_zone_text(self, origin: str, text: str) -> None:
        """Serve the zone-file ``text`` at ``origin``."""
        self.add_zone(load_zone_text(origin, text))

    def set_behaviour(self, zone: str | dns.name.Name, behaviour: Behaviour | None) -> None:
        """Set (or with ``None`` clear) the behaviour of one zone; safe from any thread."""
        name = zone if isinstance(zone, dns.name.Name) else dns.name.from_text(zone)
        if behaviour is None:
            self.behaviours.pop(name, None)
        else:
            self.behaviours[name] = behaviour

    # -- answering -----------------------------------------------------------------------

    def _find_zone(self, qname: dns.name.Name) -> _Zone | None:
        """The zone with the longest origin that ``qname`` is at or below."""
        name = qname
        while True:
            zone = self.zones.get(name)
            if zone is not None:
                return zone
            if name == dns.name.root or len(name) <= 1:
                return None
            name = name.parent()

    def _behaviour(self, zone: _Zone | None, rdtype: int | None = None) -> Behaviour:
        """The behaviour for a query of ``rdtype`` in ``zone``: the zone's when it applies to
        that type, else the server default when that applies, else normal."""
        candidates = [self.behaviours.get(zone.origin)] if zone is not None else []
        candidates.append(self.default)
        for behaviour in candidates:
            if behaviour is not None and (rdtype is None or behaviour.applies_to(rdtype)):
                return behaviour
        return _NORMAL

    def _lookup(
        self, zone: _Zone, qname: dns.name.Name, rdtype: int
    ) -> tuple[list[dns.rrset.RRset], bool, bool]:
        """(answer rrsets, name exists, found) for ``qname`` in ``zone`` following CNAMEs."""
        answers: list[dns.rrset.RRset] = []
        name = qname
        current = zone
        for _ in range(_MAX_CNAME_CHAIN):
            node, owner_exists = self._node(current, name)
            if node is None:
                return answers, bool(answers) or owner_exists, False
            if rdtype == dns.rdatatype.ANY:
                for rds in node.rdatasets:
                    answers.append(dns.rrset.from_rdata_list(name, rds.ttl, list(rds)))
                return answers, True, bool(node.rdatasets)
            rds = node.get_rdataset(dns.rdataclass.IN, rdtype)
            if rds is not None:
                answers.append(dns.rrset.from_rdata_list(name, rds.ttl, list(rds)))
                return answers, True, True
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None or rdtype == dns.rdatatype.CNAME:
                return answers, True, False
            answers.append(dns.rrset.from_rdata_list(name, cname.ttl, list(cname)))
            name = next(iter(cname)).target
            target_zone = self._find_zone(name)
            if target_zone is None:
                return answers, True, True  # out of our zones: the client follows on
            current = target_zone
        return answers, True, True

    def _node(self, zone: _Zone, name: dns.name.Name) -> tuple[dns.node.Node | None, bool]:
        """The node for ``name`` (or the wildcard that covers it) and whether the name exists."""
        node = zone.zone.get_node(name)
        if node is not None:
            return node, True
        if name in zone.existing:
            return None, True  # empty non-terminal: NODATA
        # Wildcard: the closest existing ancestor decides (RFC 4592).
        parent = name.parent() if name != zone.origin else None
        while parent is not None and len(parent) >= len(zone.origin):
            if parent in zone.existing or parent == zone.origin:
                wild = zone.zone.get_node(dns.name.Name((b"*",) + parent.labels))
                return wild, wild is not None
            parent = parent.parent()
        return None, False

    def answer(self, query: dns.message.Message) -> tuple[dns.message.Message | None, _Zone | None]:
        """The response to ``query`` (``None`` when the zone is set to drop) and its zone."""
        response = dns.message.make_response(query)
        response.flags &= ~dns.flags.RA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response, None
        question = query.question[0]
        qname, rdtype = question.name, question.rdtype
        zone = self._find_zone(qname)
        behaviour = self._behaviour(zone, rdtype)
        if behaviour.drop:
            return None, zone
        if zone is None or behaviour.refused or question.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
            return response, zone
        if behaviour.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response, zone
        response.flags |= dns.flags.AA
        answers, exists, found = self._lookup(zone, qname, rdtype)
        response.answer.extend(answers)
        if not found:
            response.authority.append(zone.soa)
            if not exists:
                response.set_rcode(dns.rcode.NXDOMAIN)
        return response, zone

    def _wire(
        self, query: dns.message.Message, response: dns.message.Message, udp: bool, force_tc: bool
    ) -> bytes:
        if not udp:
            return response.to_wire(max_size=65535)
        limit = max(512, query.payload) if query.edns >= 0 else 512
        if not force_tc:
            try:
                return response.to_wire(max_size=limit)
            except dns.exception.TooBig:
                pass
        self.stats.truncated += 1
        truncated = dns.message.make_response(query)
        truncated.flags = response.flags | dns.flags.TC
        truncated.set_rcode(response.rcode())
        return truncated.to_wire(max_size=limit)

    async def _handle(self, data: bytes, udp: bool) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        if udp:
            self.stats.udp_queries += 1
        else:
            self.stats.tcp_queries += 1
        response, zone = self.answer(query)
        if zone is not None:
            key = zone.origin.to_text()
            self.stats.by_zone[key] = self.stats.by_zone.get(key, 0) + 1
        behaviour = self._behaviour(zone, query.question[0].rdtype if query.question else None)
        if response is None:
            self.stats.dropped += 1
            return None
        if behaviour.delay_ms > 0:
            await asyncio.sleep(behaviour.delay_ms / 1000)
        return self._wire(query, response, udp, udp and behaviour.truncate)

    # -- transports ----------------------------------------------------------------------

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> int:
        """Bind UDP and TCP on the same port in the running loop; returns the port."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        last_error: OSError | None = None
        for _ in range(20):
            udp_transport = None
            try:
                udp_transport, _proto = await loop.create_datagram_endpoint(
                    lambda: _UdpProtocol(self), local_addr=(self.host, self.port), family=family
                )
                port = udp_transport.get_extra_info("sockname")[1]
                tcp_server = await asyncio.start_server(
                    self._serve_tcp, self.host, port, family=family, reuse_address=True
                )
            except OSError as exc:
                last_error = exc
                if udp_transport is not None:
                    udp_transport.close()
                if self.port:
                    raise
                continue
            sock = udp_transport.get_extra_info("socket")
            if sock is not None:
                # Bursts of queries (the benchmark) must not overflow the receive buffer.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self._udp = udp_transport  # type: ignore[assignment]
            self._tcp = tcp_server
            self.port = port
            return port
        raise OSError(f"could not bind UDP and TCP on one port: {last_error}")

    async def stop(self) -> None:
        """Close the sockets and cancel answers still in flight."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 1.0)
            self._tcp = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                header = await reader.readexactly(2)
                (length,) = struct.unpack("!H", header)
                data = await reader.readexactly(length)
                wire = await self._handle(data, udp=False)
                if wire is None:
                    continue  # dropped: keep the connection open and silent
                writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    # -- background thread ---------------------------------------------------------------

    def start_in_thread(self) -> int:
        """Run the server in a daemon thread with its own event loop; returns the port."""
        if self._thread is not None:
            raise RuntimeError("server already running")
        ready = threading.Event()
        error: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                error.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"dns-server-{id(self):x}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if error:
            self._thread = None
            raise error[0]
        return self.port

    def stop_thread(self) -> None:
        """Stop a server started with :meth:`start_in_thread` (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        self._thread = None


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.server._spawn(self._reply(data, addr))

    async def _reply(self, data: bytes, addr: tuple[str, int]) -> None:
        wire = await self.server._handle(data, udp=True)
        if wire is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(wire, addr)


def _parse_behaviours(items: Iterable[str]) -> dict[str, Behaviour]:
    out: dict[str, Behaviour] = {}
    for item in items:
        zone, sep, spec = item.partition("=")
        if not sep:
            raise SystemExit(f"--behaviour needs ZONE=SPEC, got {item!r}")
        out[zone] = Behaviour.parse(spec)
    return out


def main(argv: list[str] | None = None) -> int:
    """Serve a zone directory until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m tui.checks.dns_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--zone-dir", required=True, help="directory of NAME.zone files")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="latency added to answers")
    parser.add_argument(
        "--behaviour",
        action="append",
        default=[],
        metavar="ZONE=SPEC",
        help="per-zone behaviour: drop, servfail, refused, truncate, delay_ms=N, "
        "rdtypes=A/AAAA (comma-joined)",
    )
    args = parser.parse_args(argv)
    server = DnsServer.from_zone_dir(
        args.zone_dir,
        host=args.host,
        port=args.port,
        behaviours=_parse_behaviours(args.behaviour),
        default=Behaviour(delay_ms=args.delay_ms),
    )

    async def serve() -> None:
        port = await server.start()
        print(f"listening on {args.host}:{port}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
