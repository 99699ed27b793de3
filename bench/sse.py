"""The event stream's fan-out: time from an event's publish to its delivery at the last of 100 SSE clients.

A real server (uvicorn on a loopback port, `ServerThread`) over a real engine (SQLite store, the
scripted model server configured though never called). The clients run in `--procs` child
processes (so their parsing does not share the server's interpreter lock) on raw asyncio sockets
(opencode.testing.sse): each sends `GET /event`, waits for `server.connected`, then parses every
event (JSON) and notes the time (CLOCK_MONOTONIC, the same clock in every process) at which it
read each one. In a burst the last client's figure includes the time its process spends parsing
the other clients' copies first (printed beside: the CPU seconds of server and clients).

Events are what a busy session sends most: text deltas of one part (`message.part.delta` on the
wire), published on the engine's bus from the server's own loop (`ServerThread.call`), each
carrying its sequence number. Two schedules:
- paced: one delta every `--interval` seconds (2 ms: 500 a second, several fast models at once);
- burst: `--burst` deltas published back to back in one go, `--bursts` times (a tool's output,
  a reconnecting client's backlog); each delta's latency counted from its own publish.
Per event the figure is publish to delivery at the LAST client to read it; printed: median and
p99 over the events. Baseline in the same run: the same schedules to a single client. Goal: p99
< 50 ms with 100 clients (paced); over 200 ms fails.

    .venv/bin/python bench/sse.py [--clients 100] [--events 1000] [--interval 0.002] [--burst 200] [--bursts 5]
                                  [--procs N]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from common import isolate, scripted_engine

GOAL_MS = 50.0
HARD_STOP_MS = 200.0
PART = ("ses_bench", "msg_bench", "prt_bench")


# --- the clients (child process) -----------------------------------------------------------------


def clients_main(url: str, count: int, expected: int, conn: Any) -> None:
    """Connect `count` clients, say "ready", then read `expected` deltas on each; send back, per
    sequence number, the latest time a client read it."""
    asyncio.run(_clients(url, count, expected, conn))


async def _clients(url: str, count: int, expected: int, conn: Any) -> None:
    import json

    from opencode.testing.sse import SSEClient

    clients = []
    for _ in range(count):  # one at a time: a connect storm is not what this measures
        client = await SSEClient.connect(url, "/event")
        assert (await client.next())["type"] == "server.connected"
        clients.append(client)
    conn.send("ready")
    latest: dict[int, int] = {}

    async def read(client: SSEClient) -> None:
        seen = 0
        while seen < expected:
            event = json.loads(await client.next_raw())
            now = time.monotonic_ns()
            props = event["properties"]
            text = props["delta"] if event["type"] == "message.part.delta" else props["part"]["text"]
            seq = int(text.split(" ", 1)[0])
            if now > latest.get(seq, 0):
                latest[seq] = now
            seen += 1

    cpu = time.process_time()
    await asyncio.wait_for(asyncio.gather(*(read(c) for c in clients)), 600)
    conn.send((latest, time.process_time() - cpu))
    for client in clients:
        await client.close()


# --- the publisher (this process, on the server's loop) -------------------------------------------


def publisher(engine: Any) -> Any:
    from opencode.bus import PartUpdated
    from opencode.session.model import TextPart

    session_id, message_id, part_id = PART
    part = TextPart(id=part_id, sessionID=session_id, messageID=message_id, text="")
    filler = "word " * 8  # a delta of about 50 characters, as a model streams

    async def publish(first: int, count: int) -> list[int]:
        """Publish deltas `first`..`first+count-1` back to back; their publish times."""
        times = []
        for seq in range(first, first + count):
            delta = f"{seq} {filler}"
            part.text = delta  # what a client that has not got the part yet receives whole
            times.append(time.monotonic_ns())
            engine.bus.publish(PartUpdated(part=part, delta=delta))
        return times

    return publish


class Run:
    def __init__(self, latencies: list[float], server_cpu: float, client_cpu: float, wall: float) -> None:
        self.latencies = latencies
        self.server_cpu = server_cpu
        """CPU seconds of this process (the server's thread and the publishing) during the run."""
        self.client_cpu = client_cpu
        self.wall = wall


def run(thread: Any, engine: Any, clients: int, schedule: str, args: argparse.Namespace) -> Run:
    """One measurement: latencies (ms) to the last of `clients` clients, for one schedule."""
    events = args.events if schedule == "paced" else args.burst * args.bursts
    context = multiprocessing.get_context("spawn")
    procs = max(1, min(args.procs, clients))
    pipes, processes = [], []
    for index in range(procs):
        share = clients // procs + (1 if index < clients % procs else 0)
        parent, child = context.Pipe()
        process = context.Process(target=clients_main, args=(thread.url, share, events, child), daemon=True)
        process.start()
        pipes.append(parent)
        processes.append(process)
    for parent in pipes:
        if not parent.poll(120):
            raise SystemExit("the clients did not connect within 120 s")
        assert parent.recv() == "ready"
    publish = publisher(engine)
    published: dict[int, int] = {}
    cpu, wall = time.process_time(), time.monotonic()
    if schedule == "paced":
        start = time.monotonic()
        for seq in range(events):
            (published[seq],) = thread.call(publish(seq, 1))
            next_at = start + (seq + 1) * args.interval
            time.sleep(max(0.0, next_at - time.monotonic()))
    else:
        for round_ in range(args.bursts):
            first = round_ * args.burst
            times = thread.call(publish(first, args.burst))
            published.update(zip(range(first, first + args.burst), times, strict=True))
            time.sleep(0.2)  # the clients drain, then the next burst
    latest: dict[int, int] = {}
    client_cpu = 0.0
    for parent in pipes:
        if not parent.poll(120):
            raise SystemExit("the clients did not receive every event within 120 s")
        seen, used = parent.recv()
        client_cpu += used
        for seq, at in seen.items():
            latest[seq] = max(at, latest.get(seq, 0))
    server_cpu, elapsed = time.process_time() - cpu, time.monotonic() - wall
    for process in processes:
        process.join(10)
    missing = set(published) - set(latest)
    if missing:
        raise SystemExit(f"{len(missing)} events never reached every client")
    latencies = [(latest[seq] - published[seq]) / 1e6 for seq in sorted(published)]
    return Run(latencies, server_cpu, client_cpu, elapsed)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--events", type=int, default=1000, help="deltas in the paced run")
    parser.add_argument("--interval", type=float, default=0.002, help="seconds between paced deltas")
    parser.add_argument("--burst", type=int, default=200, help="deltas per burst")
    parser.add_argument("--bursts", type=int, default=5)
    default_procs = max(1, min(4, (os.cpu_count() or 2) // 2))
    parser.add_argument("--procs", type=int, default=default_procs, help="client processes the clients share")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="opencode-bench-sse-"))
    isolate(home)
    project = home / "project"
    (project / ".git").mkdir(parents=True)
    from opencode.server.app import create_app
    from opencode.server.options import ServerOptions
    from opencode.server.runner import ServerThread
    from opencode.testing.model_server import ScriptedModelServer

    results: dict[tuple[int, str], Run] = {}
    with ScriptedModelServer() as models:
        engine, _ = scripted_engine(project, models)
        app = create_app(engine, ServerOptions.build(hostname="127.0.0.1", port=0, environ={}))
        with ServerThread(app, name="bench-sse") as thread:
            for clients in (1, args.clients):
                for schedule in ("paced", "burst"):
                    results[(clients, schedule)] = run(thread, engine, clients, schedule, args)
            dropped = app.state.hub.dropped
        engine.store.close()

    print(
        f"SSE fan-out, publish to delivery at the last client (loopback; {os.cpu_count()} CPUs,"
        f" load {os.getloadavg()[0]:.1f}; clients in {args.procs} process(es))"
    )
    for (clients, schedule), result in results.items():
        latencies = result.latencies
        if schedule == "paced":
            detail = f"{args.events} deltas, one every {args.interval * 1000:g} ms"
        else:
            detail = f"{args.bursts} bursts of {args.burst} deltas"
        role = "baseline" if clients == 1 else "measured"
        print(
            f"  {clients:3d} client{'s' if clients > 1 else ' '} {schedule:6s}"
            f" median {statistics.median(latencies):7.2f} ms  p99 {p99(latencies):7.2f} ms"
            f"  max {max(latencies):7.2f} ms  ({detail}; {role};"
            f" cpu server {result.server_cpu:.2f} s, clients {result.client_cpu:.2f} s, wall {result.wall:.2f} s)"
        )
    print(f"  clients dropped: {dropped}")
    value = p99(results[(args.clients, "paced")].latencies)
    verdict = "ok" if value < GOAL_MS else ("over goal" if value <= HARD_STOP_MS else "FAIL")
    print(
        f"p99 with {args.clients} clients (paced): {value:.2f} ms"
        f" (goal < {GOAL_MS:g} ms, hard stop {HARD_STOP_MS:g} ms): {verdict}"
    )
    return 1 if value > HARD_STOP_MS or dropped else 0


if __name__ == "__main__":
    raise SystemExit(main())
