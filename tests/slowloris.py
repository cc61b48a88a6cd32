#!/usr/bin/env python3
"""Slow and idle clients against a running server: keeps N connections open for D seconds,
a third of them trickling request headers a byte at a time, a third trickling a request
body, a third sending nothing. Each connection the server cuts off is replaced at once, so
N stay open (or waiting to be accepted) the whole time. Prints one JSON line: how many
were opened, cut off by the server, answered (a trickled body gets 408), and how long the
server let them live.
    tests/slowloris.py HOST:PORT [connections=2000] [seconds=20] [byte_every=0.5]
"""
import asyncio
import json
import statistics
import sys
import time

HOST, PORT = sys.argv[1].rsplit(":", 1)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
SECS = float(sys.argv[3]) if len(sys.argv) > 3 else 20
EVERY = float(sys.argv[4]) if len(sys.argv) > 4 else 0.5

stats = {
    "opened": 0,
    "connect_failed": 0,
    "cut_off": {"headers": 0, "body": 0, "idle": 0},
    "answered": {},
    "lifetimes": [],
    "oldest_open_s": 0.0,
}
KINDS = ("headers", "body", "idle")


async def one(kind: str, deadline: float, delay: float) -> None:
    # Connections ramp up over a second or two: a burst of a thousand SYNs overflows the
    # listen queue (1,024), and the kernel then completes some connections only seconds
    # later, when the client already counts them as open.
    await asyncio.sleep(delay)
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(HOST, int(PORT))
        except OSError:
            stats["connect_failed"] += 1
            await asyncio.sleep(0.1)
            continue
        stats["opened"] += 1
        born = time.monotonic()
        try:
            if kind == "headers":
                writer.write(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
            elif kind == "body":
                writer.write(
                    b"POST /oauth/token HTTP/1.1\r\nhost: x\r\n"
                    b"content-type: application/x-www-form-urlencoded\r\n"
                    b"content-length: 1000\r\n\r\ngrant_type="
                )
            await writer.drain()
            reading = asyncio.ensure_future(reader.read(4096))
            while time.monotonic() < deadline:
                done, _ = await asyncio.wait({reading}, timeout=EVERY)
                if done:
                    break
                if kind != "idle":
                    writer.write(b"a")
                    await writer.drain()
            if not reading.done():
                reading.cancel()
                # Held to the end of the run: how long it had been open.
                stats["oldest_open_s"] = max(stats["oldest_open_s"], round(time.monotonic() - born, 2))
                break
            first = reading.result()
            if first:
                status = first.split(b" ", 2)[1].decode(errors="replace")
                stats["answered"][status] = stats["answered"].get(status, 0) + 1
            stats["cut_off"][kind] += 1
            stats["lifetimes"].append(time.monotonic() - born)
        except (ConnectionError, OSError):
            stats["cut_off"][kind] += 1
            stats["lifetimes"].append(time.monotonic() - born)
        finally:
            writer.close()


async def main() -> None:
    deadline = time.monotonic() + SECS
    await asyncio.gather(*(one(KINDS[i % 3], deadline, i * 0.002) for i in range(N)))
    life = sorted(stats.pop("lifetimes"))
    stats["lifetime_s"] = {
        "median": round(statistics.median(life), 2) if life else None,
        "max": round(life[-1], 2) if life else None,
    }
    stats["connections"] = N
    print(json.dumps(stats))


asyncio.run(main())
