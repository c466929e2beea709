"""Opening a connection to the search database: `$DATABASE_URL`, or the embedded server in a home folder.

The connection is autocommit, has pgvector's types registered and the schema migrated; HNSW's
iterative scan is on so filtered searches still return k rows.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from pgvector.psycopg import register_vector

from signclip.store.embedded_postgres import EmbeddedPostgres, default_home
from signclip.store.errors import StoreError
from signclip.store.schema import apply_migrations


def connect(
    database_url: str | None = None, home: str | os.PathLike | None = None
) -> tuple[psycopg.Connection, Path, EmbeddedPostgres | None]:
    """Connect to `database_url` (default `$DATABASE_URL`), else to the embedded server in `home`.

    Returns (connection, home, the embedded server whose lease this connection holds, or None).
    Raises StoreError naming the server (password hidden) when it cannot connect or migrate.
    """
    home = Path(home).expanduser() if home is not None else default_home()
    database_url = database_url or os.environ.get("DATABASE_URL") or None
    server = None
    if database_url is None:
        server = EmbeddedPostgres(home)
        database_url = server.acquire()
    try:
        connection = psycopg.connect(database_url, autocommit=True)
    except psycopg.OperationalError as error:
        if server is not None:
            server.release()
        raise StoreError(f"cannot connect to {redact(database_url)}: {error}") from None
    try:
        apply_migrations(connection)
        register_vector(connection)
        connection.execute("SET hnsw.iterative_scan = relaxed_order")
    except BaseException as error:
        connection.close()
        if server is not None:
            server.release()
        if isinstance(error, psycopg.Error):
            raise StoreError(
                f"{redact(database_url)}: cannot prepare the signclip schema (the server needs the pgvector "
                f"extension, and the user the right to create it): {error}"
            ) from None
        raise
    return connection, home, server


def redact(url: str) -> str:
    """Return `url` with any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
