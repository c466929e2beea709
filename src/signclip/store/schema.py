"""Versioned schema migrations: numbered SQL files in `signclip/search/migrations`, applied in order once.

`schema_migrations` records each applied version; migrations run in one transaction under an advisory
lock, so two processes opening a fresh database at the same time apply them once. A read-only server (a
streaming replica serving search load, or `default_transaction_read_only`) is only checked: it must already
have every migration, applied on its primary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from signclip.store.errors import StoreError

MIGRATION_LOCK = 7_301_905_114  # pg_advisory_xact_lock key: any constant unique to signclip
FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema version: its number, name and SQL text."""

    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """Return the migrations shipped in the package, sorted by version."""
    folder = resources.files("signclip.store.migrations")
    migrations = []
    for entry in folder.iterdir():
        match = FILE_PATTERN.match(entry.name)
        if match:
            migrations.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    return sorted(migrations, key=lambda m: m.version)


def apply_migrations(connection: psycopg.Connection) -> list[int]:
    """Apply the migrations this database lacks; returns the versions applied now (empty when up to date).

    On a read-only server nothing is written: StoreError unless its schema is already up to date.
    """
    if connection.execute("SHOW transaction_read_only").fetchone()[0] == "on":
        found, latest = schema_version(connection), available_migrations()[-1].version
        if found < latest:
            raise StoreError(
                f"the server is read-only (a replica?) and its signclip schema is at version {found}, not "
                f"{latest}: open the store on the primary once to migrate it"
            )
        return []
    applied_now = []
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
        for migration in available_migrations():
            if migration.version in done:
                continue
            connection.execute(migration.sql)
            connection.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", [migration.version, migration.name]
            )
            applied_now.append(migration.version)
    return applied_now


def schema_version(connection: psycopg.Connection) -> int:
    """Return the highest applied migration version (0 for an empty database)."""
    exists = connection.execute("SELECT to_regclass('schema_migrations')").fetchone()[0]
    if exists is None:
        return 0
    return connection.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
