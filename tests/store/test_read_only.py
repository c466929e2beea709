"""A read-only server (what a streaming replica serving search load looks like to a client) against the real
embedded PostgreSQL: the store opens and searches without writing, and refuses a schema its primary has not
migrated yet."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from test_store import rows
from test_vector_types import separated

from signclip.store.errors import StoreError
from signclip.store.schema import available_migrations
from signclip.store.store import Store


def make_read_only(database_url: str) -> None:
    """Make every later session of the test's database read-only (as on a hot standby)."""
    name = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")


def test_a_read_only_server_is_searched_without_writing(store: Store, database_url: str):
    vectors = separated(300, seed=8)
    store.use_vector_type("signs", "halfvec")
    ids = store.add_items("signs", rows(300))
    store.add_embeddings("toy", ids, vectors)
    store.build_index("toy")
    make_read_only(database_url)
    with Store.open(database_url) as replica:
        assert replica.connection.execute("SHOW transaction_read_only").fetchone()[0] == "on"
        assert replica.search("signs", "toy", vectors[9], k=1, exact=False)[0].item_id == ids[9]
        assert replica.list_datasets()[0].vector_type == "halfvec"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            replica.add_items("signs", rows(1, prefix="new"))


def test_a_read_only_server_behind_the_schema_is_a_clear_error(database_url: str):
    with psycopg.connect(database_url, autocommit=True) as connection, connection.transaction():
        connection.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL)")
        for migration in available_migrations()[:4]:
            connection.execute(migration.sql)
            connection.execute("INSERT INTO schema_migrations VALUES (%s, %s)", [migration.version, migration.name])
    make_read_only(database_url)
    latest = available_migrations()[-1].version
    with pytest.raises(StoreError, match=rf"read-only .* schema is at version 4, not {latest}: open the store on the"):
        Store.open(database_url)
    with psycopg.connect(database_url) as connection:  # nothing was written
        assert connection.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == 4
