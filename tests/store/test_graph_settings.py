"""HNSW graph settings (m, ef_construction) against the real embedded PostgreSQL: chosen at build time, kept
with the model, read back from the index, a rebuild that swaps the new graph in, and the values refused."""

from __future__ import annotations

import psycopg
import pytest
from test_store import _plan, rows
from test_vector_types import indexed, recall_at_10, separated

from signclip.store import knn
from signclip.store.errors import StoreError
from signclip.store.indexes import REBUILD_SUFFIX, GraphSettings
from signclip.store.store import Store


@pytest.mark.parametrize(
    ("m", "ef_construction", "message"),
    [
        (1, 64, r"m must be 2 to 100, got 1"),
        (101, 400, r"m must be 2 to 100, got 101"),
        (16, 3, r"ef_construction must be 4 to 1000, got 3"),
        (16, 1001, r"ef_construction must be 4 to 1000, got 1001"),
        (32, 48, r"ef_construction must be at least 2 m \(64 for m 32\), got 48"),
    ],
)
def test_values_pgvector_refuses_are_refused_by_name(m: int, ef_construction: int, message: str):
    with pytest.raises(StoreError, match=message):
        GraphSettings(m, ef_construction)


@pytest.mark.parametrize("ef_search", [0, 1001, 2.5, True])
def test_an_ef_search_pgvector_refuses_is_refused_before_connecting(ef_search):
    with pytest.raises(StoreError, match=rf"ef_search must be a whole number from 1 to 1000, got {ef_search!r}"):
        Store.open("postgresql://nobody@127.0.0.1:1/nothing", ef_search=ef_search)  # no server answers there


def test_the_ef_search_given_is_the_connections_and_a_refused_one_changes_nothing(database_url: str, tmp_path):
    with Store.open(database_url, home=tmp_path / "home", ef_search=160) as store:
        assert store.connection.execute("SHOW hnsw.ef_search").fetchone()[0] == "160"
        store.set_ef_search(40)
        with pytest.raises(StoreError, match="got 0"):
            store.set_ef_search(0)
        assert store.connection.execute("SHOW hnsw.ef_search").fetchone()[0] == "40"


def test_a_new_index_has_the_given_settings_and_the_model_keeps_them(store: Store):
    vectors = separated(600)
    indexed(store, "signs", "vector", vectors[:300])
    (default,) = store.list_indexes("toy")
    assert (default.graph, default.metric, default.vector_type) == (GraphSettings(16, 64), "cosine", "vector")
    assert default.size_bytes > 0 and store.model_graph("toy") == GraphSettings()

    store.drop_index("toy")
    assert store.build_index("toy", graph=GraphSettings(8, 40)) is True
    assert [info.graph for info in store.list_indexes("toy")] == [GraphSettings(8, 40)]
    store.drop_index("toy")  # as a bulk load does: the index built after it keeps the model's settings
    assert store.build_index("toy") is True
    assert [info.graph for info in store.list_indexes()] == [GraphSettings(8, 40)]
    assert store.model_graph("toy") == GraphSettings(8, 40)

    store.use_vector_type("half", "halfvec")  # a new vector type's index too
    store.add_embeddings("toy", store.add_items("half", rows(300, prefix="half")), vectors[300:])
    assert store.build_index("toy") is True
    assert {(info.vector_type, info.graph) for info in store.list_indexes("toy")} == {
        ("vector", GraphSettings(8, 40)),
        ("halfvec", GraphSettings(8, 40)),
    }


def test_other_settings_rebuild_the_index_in_place_and_search_keeps_its_hits(store: Store):
    vectors = separated(1530)
    vectors, queries = vectors[:1500], vectors[1500:]
    ids = indexed(store, "signs", "vector", vectors)
    store.set_ef_search(100)
    before = recall_at_10(store, "signs", ids, vectors, queries)
    assert store.build_index("toy", graph=GraphSettings(16, 64)) is False  # the settings it has: nothing to do

    assert store.build_index("toy", graph=GraphSettings(12, 60)) is True
    (info,) = store.list_indexes("toy")
    assert info.graph == GraphSettings(12, 60)
    name = knn.index_name(store.model("toy").id, "cosine", "vector")
    assert store.connection.execute("SELECT to_regclass(%s)", [name + REBUILD_SUFFIX]).fetchone()[0] is None
    approximate = knn.knn_sql(
        store.dataset_id("signs"), store.model("toy").id, 32, 10, "cosine", {}, False, candidates=40
    )
    store.set_ef_search(40)
    assert name in _plan(store, approximate, vectors[0])  # the rebuilt graph serves the search
    store.set_ef_search(100)
    assert recall_at_10(store, "signs", ids, vectors, queries) >= min(before, 0.95)


def test_an_interrupted_rebuild_leaves_the_old_index_and_a_rerun_finishes_it(store: Store):
    vectors = separated(3000)
    ids = indexed(store, "signs", "vector", vectors)
    store.connection.execute("SET statement_timeout = '20ms'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        store.build_index("toy", graph=GraphSettings(48, 400))
    store.connection.execute("SET statement_timeout = 0")
    (info,) = store.list_indexes("toy")
    assert info.graph == GraphSettings(16, 64) and store.model_graph("toy") == GraphSettings(16, 64)
    assert store.search("signs", "toy", vectors[5], k=1, exact=False)[0].item_id == ids[5]

    assert store.build_index("toy", graph=GraphSettings(48, 400)) is True
    assert [info.graph for info in store.list_indexes("toy")] == [GraphSettings(48, 400)]
    assert store.search("signs", "toy", vectors[5], k=1, exact=False)[0].item_id == ids[5]
