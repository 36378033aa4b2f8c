"""Dead-letter tools: `python -m modelbay_common.bus {dead-letters,replay} CONSUMER`.

The broker URL comes from `--amqp-url`, else MODELBAY_BUS_URL, else MODELBAY_AMQP_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import aio_pika

from modelbay_common.bus.rabbitmq_admin import peek_dead_letters, replay_dead_letters


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m modelbay_common.bus")
    parser.add_argument(
        "--amqp-url",
        default=os.environ.get("MODELBAY_BUS_URL") or os.environ.get("MODELBAY_AMQP_URL"),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("dead-letters", help="list a consumer's dead letters")
    show.add_argument("consumer")
    show.add_argument("--limit", type=int, default=100)
    replay = commands.add_parser("replay", help="move dead letters back to the consumer")
    replay.add_argument("consumer")
    replay.add_argument("--limit", type=int, default=None)
    return parser


async def _show(amqp_url: str, consumer: str, limit: int) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        letters = await peek_dead_letters(connection, consumer, limit)
    for letter in letters:
        print(
            f"{letter.failed_at.isoformat()}  {letter.event_type}  {letter.event_id}  "
            f"attempts={letter.attempts}  {letter.error}"
        )
    print(f"{len(letters)} dead letter(s) shown for {consumer}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.amqp_url:
        print("set MODELBAY_BUS_URL (amqp://...) or pass --amqp-url", file=sys.stderr)
        return 2
    try:
        if args.command == "dead-letters":
            asyncio.run(_show(args.amqp_url, args.consumer, args.limit))
        else:
            count = asyncio.run(replay_dead_letters(args.amqp_url, args.consumer, args.limit))
            print(f"replayed {count} dead letter(s) to {args.consumer}")
    except LookupError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
