"""Per-dataset vector types (vector, halfvec, binary) against the real embedded PostgreSQL: the same hits as
float32, the index each type searches through, switching a dataset's type, and what is refused."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from test_store import _plan, brute_force, rows

from signclip.cli import main
from signclip.store import knn
from signclip.store.errors import StoreError
from signclip.store.schema import available_migrations, schema_version
from signclip.store.store import Store
from signclip.store.vector_types import VECTOR_TYPES, UnknownVectorTypeError

DIM = 32


def separated(count: int, dim: int = DIM, clusters: int = 40, seed: int = 0) -> np.ndarray:
    """Unit vectors in tight, well-separated clusters (a mixture of Gaussians around random centers)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(clusters, dim))
    points = centers[rng.integers(0, clusters, count)] + 0.25 * rng.normal(size=(count, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def indexed(store: Store, dataset: str, kind: str, vectors: np.ndarray, model: str = "toy") -> np.ndarray:
    """Add `dataset` as vector type `kind` with `vectors` under `model`, build its index; returns item ids."""
    store.use_vector_type(dataset, kind)
    ids = store.add_items(dataset, rows(len(vectors), prefix=dataset))
    store.add_embeddings(model, ids, vectors)
    store.build_index(model, kind=kind)
    return ids


def recall_at_10(store: Store, dataset: str, ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray) -> float:
    found = []
    for query in queries:
        hits = store.search(dataset, "toy", query, k=10, exact=False)
        truth = set(ids[brute_force(vectors, query, 10)].tolist())
        found.append(len({hit.item_id for hit in hits} & truth) / 10)
    return float(np.mean(found))


@pytest.mark.parametrize("kind", ["halfvec", "binary"])
def test_each_type_finds_what_float32_finds(store: Store, kind: str):
    vectors = separated(1530)
    vectors, queries = vectors[:1500], vectors[1500:]
    plain = indexed(store, "plain", "vector", vectors)
    typed = indexed(store, kind, kind, vectors)
    assert store.dataset_state(kind).vector_type == kind
    store.set_ef_search(100)
    assert recall_at_10(store, kind, typed, vectors, queries) >= 0.95
    assert recall_at_10(store, "plain", plain, vectors, queries) >= 0.95
    for query in queries[:10]:  # exact scans: the same items in the same order
        hits = store.search(kind, "toy", query, k=5, exact=True)
        assert [hit.item_id for hit in hits] == typed[brute_force(vectors, query, 5)].tolist()
    first = store.search(kind, "toy", vectors[7], k=1, exact=False)[0]
    assert first.item_id == typed[7]
    assert first.distance == pytest.approx(0.0, abs=2e-3 if kind == "halfvec" else 1e-6)
    stored_ids, stored = store.vectors(kind, "toy")  # read back as float32 whatever the type
    assert stored_ids.tolist() == typed.tolist()
    np.testing.assert_allclose(stored, vectors, atol=1e-3 if kind == "halfvec" else 0)


@pytest.mark.parametrize("kind", ["vector", "halfvec", "binary"])
def test_the_approximate_query_uses_its_types_index(store: Store, kind: str):
    vectors = separated(2000, seed=2)
    indexed(store, "signs", kind, vectors)
    model, dataset = store.model("toy"), store.dataset_id("signs")
    approximate = knn.knn_sql(dataset, model.id, DIM, 10, "cosine", {}, False, kind, candidates=40)
    assert knn.index_name(model.id, "cosine", kind) in _plan(store, approximate, vectors[0])
    exact = knn.knn_sql(dataset, model.id, DIM, 10, "cosine", {}, True, kind)
    assert "hnsw" not in _plan(store, exact, vectors[0])
    other_columns = [t.column for t in VECTOR_TYPES.values() if t.name != kind]
    nulls = store.connection.execute(
        psycopg.sql.SQL("SELECT count(*) FROM embeddings WHERE {} IS NULL AND {} IS NULL").format(
            *map(psycopg.sql.Identifier, other_columns)
        )
    ).fetchone()[0]
    assert nulls == 2000  # each row fills its type's column only


def test_halfvec_halves_the_table_and_the_index(store: Store):
    vectors = separated(3000, dim=256, seed=3)
    sizes = {}
    for kind in ("vector", "halfvec"):
        indexed(store, kind, kind, vectors, model=f"toy-{kind}")
        name = knn.index_name(store.model(f"toy-{kind}").id, "cosine", kind)
        sizes[kind] = store.connection.execute("SELECT pg_relation_size(%s)", [name]).fetchone()[0]
    assert sizes["halfvec"] < 0.65 * sizes["vector"]


def test_a_switch_converts_the_rows_and_keeps_them_searchable(store: Store):
    vectors = separated(800, seed=4)
    ids = indexed(store, "signs", "vector", vectors)
    other = indexed(store, "others", "vector", separated(50, seed=5))
    model = store.model("toy")
    version = store.dataset_state("signs").version
    assert store.use_vector_type("signs", "vector") == 0  # already that type: nothing to do
    assert store.use_vector_type("signs", "halfvec") == 800
    state = store.dataset_state("signs")
    assert (state.vector_type, state.version > version) == ("halfvec", True)
    assert store.list_datasets()[1].embeddings == {"toy": 800}
    assert store.has_index("toy", kind="vector")  # still used by "others"
    assert not store.has_index("toy", kind="halfvec")
    assert store.build_index("toy") is True  # builds the missing halfvec index only
    assert store.has_index("toy") and store.vector_types_of("toy") == ["halfvec", "vector"]
    hits = store.search("signs", "toy", vectors[3], k=3, exact=False)
    assert hits[0].item_id == ids[3]
    assert store.search("others", "toy", separated(50, seed=5)[9], k=1)[0].item_id == other[9]
    assert store.use_vector_type("signs", "binary") == 800
    assert store.use_vector_type("others", "binary") == 50
    assert not store.has_index("toy", kind="vector")  # no dataset of the model is float32 any more
    assert not store.has_index("toy", kind="halfvec")
    assert store.build_index("toy") is True
    assert store.search("signs", "toy", vectors[11], k=1, exact=False)[0].item_id == ids[11]
    assert store.use_vector_type("signs", "vector") == 800
    _, stored = store.vectors("signs", "toy")
    np.testing.assert_allclose(stored, vectors, atol=1e-3)  # the float16 rounding stays
    assert store.search("signs", "toy", vectors[20], k=1, exact=True)[0].item_id == ids[20]
    names = {
        row[0]
        for row in store.connection.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE %s", [f"embeddings_hnsw_model{model.id}_%"]
        )
    }
    assert names == {knn.index_name(model.id, "cosine", "binary")}  # "others" is binary; no float32 index is left


def test_a_refused_switch_leaves_the_old_vectors_and_type(store: Store):
    vectors = separated(100, seed=6)
    vectors[40, 0] = 70_000.0  # beyond float16
    ids = indexed(store, "signs", "vector", vectors)
    with pytest.raises(StoreError, match=r"cannot be stored as halfvec.*65504.*stays vector"):
        store.use_vector_type("signs", "halfvec")
    assert store.dataset_state("signs").vector_type == "vector"
    _, stored = store.vectors("signs", "toy")
    np.testing.assert_array_equal(stored, vectors)  # the one transaction rolled back: every row as it was
    assert store.has_index("toy", kind="vector")
    assert store.search("signs", "toy", vectors[5], k=1, exact=False)[0].item_id == ids[5]
    store.use_vector_type("halves", "halfvec")
    halves = store.add_items("halves", rows(2))
    with pytest.raises(StoreError, match=r"beyond \+-65504.*halfvec dataset.*nothing of this batch"):
        store.add_embeddings("toy", halves, vectors[39:41])
    assert store.dataset_models("halves") == {}


def test_an_unknown_type_is_refused_before_anything_is_written(store: Store, database_url: str, capsys):
    with pytest.raises(UnknownVectorTypeError, match=r"unknown vector type 'float8'; choose one of vector, halfvec"):
        store.use_vector_type("signs", "float8")
    store.add_items("signs", rows(3))
    assert store.dataset_state("signs").vector_type == "vector"  # the refused choice was not kept
    argv = ["index", "load-embeddings", "--dataset", "new", "nowhere/", "--vector-type", "int4"]
    assert main([*argv, "--database-url", database_url]) == 1
    assert "unknown vector type 'int4'; choose one of vector, halfvec, binary" in capsys.readouterr().err
    assert [d.name for d in store.list_datasets()] == ["signs"]


def test_index_list_shows_each_datasets_type(store: Store, database_url: str, capsys):
    indexed(store, "floats", "vector", separated(20))
    indexed(store, "halves", "halfvec", separated(20))
    indexed(store, "bits", "binary", separated(20))
    assert {d.name: d.vector_type for d in store.list_datasets()} == {
        "bits": "binary",
        "floats": "vector",
        "halves": "halfvec",
    }
    assert main(["index", "list", "--database-url", database_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "bits\t20 items\tembeddings: toy: 20\tvectors: binary",
        "floats\t20 items\tembeddings: toy: 20\tvectors: vector",
        "halves\t20 items\tembeddings: toy: 20\tvectors: halfvec",
    ]
    assert [line.split(":")[0] for line in lines[3:]] == [  # then each index, by metric and type
        "HNSW index of 'toy' over halfvec (cosine)",
        "HNSW index of 'toy' over vector (cosine)",
        "HNSW index of 'toy' over binary (hamming)",
    ]


def test_migrating_a_version_4_store_keeps_its_vectors_and_index(database_url: str):
    vectors = separated(3000, seed=7)
    with psycopg.connect(database_url, autocommit=True) as connection, connection.transaction():
        connection.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in available_migrations()[:4]:
            connection.execute(migration.sql)
            connection.execute("INSERT INTO schema_migrations VALUES (%s, %s)", [migration.version, migration.name])
        connection.execute("INSERT INTO datasets (name) VALUES ('old')")
        connection.execute("INSERT INTO models (name, dim) VALUES ('toy', %s)", [DIM])
        connection.execute(
            "INSERT INTO items (dataset_id, external_key) SELECT 1, g::text FROM generate_series(0, 2999) g"
        )
        texts = ["[" + ",".join(map(str, vector.tolist())) + "]" for vector in vectors]
        connection.execute(
            "INSERT INTO embeddings SELECT n, 1, 1, v::vector FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, n)",
            [texts],
        )
        connection.execute(  # what version 4's build_index made
            "CREATE INDEX embeddings_hnsw_model1_cosine ON embeddings"
            " USING hnsw ((vector::vector(32)) vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
            " WHERE model_id = 1"
        )
        connection.execute("ANALYZE embeddings")  # as version 4's build_index did
    with Store.open(database_url) as store:
        assert schema_version(store.connection) == available_migrations()[-1].version
        assert store.list_datasets()[0].vector_type == "vector"
        assert store.has_index("toy")  # the version-4 index serves the vector type as it is
        plan = _plan(store, knn.knn_sql(1, 1, DIM, 10, "cosine", {}, False), vectors[0])
        assert "embeddings_hnsw_model1_cosine" in plan
        assert store.search("old", "toy", vectors[42], k=1, exact=False)[0].item_id == 43
        assert store.use_vector_type("old", "halfvec") == 3000
        store.build_index("toy")
        assert store.search("old", "toy", vectors[42], k=1, exact=False)[0].item_id == 43
