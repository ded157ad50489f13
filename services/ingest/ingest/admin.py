"""`python -m ingest.admin`: operator commands (subscriptions and API keys).

    python -m ingest.admin create-subscription "Pharmacy team"
    python -m ingest.admin add-key SUBSCRIPTION_ID
    python -m ingest.admin revoke-key KEY_ID

A key is printed once, here; only its hash is stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid

import asyncpg

from ingest import keys
from ingest import repository as repo
from ingest.settings import SCHEMA, IngestSettings


async def run(args: argparse.Namespace) -> int:
    settings = IngestSettings()
    conn = await asyncpg.connect(settings.database_url.get_secret_value(), server_settings={"search_path": SCHEMA})
    try:
        if args.command == "create-subscription":
            subscription_id, key = await keys.create_subscription(conn, args.name)
            print(json.dumps({"subscriptionId": str(subscription_id), "apiKey": key}))
        elif args.command == "add-key":
            subscription_id = uuid.UUID(args.subscription_id)
            if not await repo.subscription_exists(conn, subscription_id):
                print(f"no subscription {subscription_id}", file=sys.stderr)
                return 1
            print(
                json.dumps(
                    {"subscriptionId": str(subscription_id), "apiKey": await keys.add_key(conn, subscription_id)}
                )
            )
        elif args.command == "revoke-key":
            if not await repo.revoke_key(conn, args.key_id):
                print(f"no active key {args.key_id}", file=sys.stderr)
                return 1
            print(json.dumps({"revoked": args.key_id}))
    finally:
        await conn.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.admin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create-subscription", help="new subscription and its first key").add_argument("name")
    commands.add_parser("add-key", help="another key for a subscription").add_argument("subscription_id")
    commands.add_parser("revoke-key", help="revoke a key by its id (the part after atn_)").add_argument("key_id")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
