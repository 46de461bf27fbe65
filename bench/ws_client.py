"""The load of bench/websocket.py, one process: C WebSocket connections, each keeping W
small text messages in flight (a new one goes out for each echo that comes back), counting
the echoes between --start-at and --start-at + --duration (wall clock, so several client
processes measure the same window). Prints one JSON line.

    python bench/ws_client.py --url ws://127.0.0.1:9000/ws --connections 16 --window 16 \\
        --size 32 --duration 5 --start-at $(($(date +%s) + 2))
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import aiohttp
import uvloop


class Window:
    """The measured window: echoes count only while it is open."""

    def __init__(self) -> None:
        self.open = False
        self.closed = False


async def one_connection(session: aiohttp.ClientSession, args: argparse.Namespace, win: Window,
                         ready: asyncio.Event) -> tuple[int, str]:
    """Echoes counted while the window was open, and the first problem ("" if none)."""
    payload = "x" * args.size
    headers = {"Cookie": args.cookie} if args.cookie else {}
    async with session.ws_connect(args.url, headers=headers, autoping=False, compress=0,
                                  max_msg_size=0) as ws:
        await ready.wait()
        for _ in range(args.window):
            await ws.send_str(payload)
        counted = 0
        while not win.closed:
            msg = await ws.receive()
            if msg.type != aiohttp.WSMsgType.TEXT or msg.data != payload:
                return counted, f"unexpected {msg.type.name}: {str(msg.data)[:80]}"
            if win.open:
                counted += 1
            await ws.send_str(payload)
        return counted, ""


async def run(args: argparse.Namespace) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    win, ready = Window(), asyncio.Event()
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        tasks = [asyncio.ensure_future(one_connection(session, args, win, ready)) for _ in range(args.connections)]
        late = time.time() > args.start_at
        loop.call_at(loop.time() + max(0.0, args.start_at - time.time()), ready.set)
        # The window opens a little after the first messages, so every connection is busy.
        opens = loop.time() + max(0.0, args.start_at - time.time()) + args.settle
        loop.call_at(opens, lambda: setattr(win, "open", True))
        loop.call_at(opens + args.duration, lambda: setattr(win, "closed", True))
        done = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [repr(d) for d in done if isinstance(d, BaseException)] + [d[1] for d in done
                                                                          if isinstance(d, tuple) and d[1]]
    return {"messages": sum(d[0] for d in done if isinstance(d, tuple)), "seconds": args.duration,
            "connections": args.connections, "errors": errors[:5], "error_count": len(errors), "late": late}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--cookie", default="")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--settle", type=float, default=0.2, help="seconds after the start before counting")
    p.add_argument("--start-at", type=float, required=True, help="wall-clock time (epoch seconds) to start")
    args = p.parse_args(argv)
    uvloop.install()
    print(json.dumps(asyncio.run(run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
