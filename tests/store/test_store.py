"""The PostgreSQL + pgvector store against a real embedded server: schema, ingest, search, errors."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from signclip.store import knn
from signclip.store.errors import (
    DimensionMismatchError,
    ModelMismatchError,
    StoreError,
    UnknownDatasetError,
    UnknownModelError,
)
from signclip.store.pgbinary import decode_id_vector_rows, encode_id_vector_rows
from signclip.store.schema import available_migrations, schema_version
from signclip.store.store import Store


def rows(count: int, prefix: str = "item", glosses: int = 5, signers: int = 3) -> list[dict]:
    return [
        {
            "id": f"{prefix}-{i}",
            "pose_path": f"/poses/{prefix}-{i}.pose",
            "gloss": f"G{i % glosses}",
            "signer": f"s{i % signers}",
            "text": f"word {i % glosses}",
            "spoken_language": "en",
            "signed_language": "ase",
        }
        for i in range(count)
    ]


def clustered(count: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(8, dim))
    return (centers[rng.integers(0, 8, count)] + 0.3 * rng.normal(size=(count, dim))).astype(np.float32)


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int, metric: str = "cosine") -> list[int]:
    if metric == "cosine":
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        distances = 1 - unit @ (query / np.linalg.norm(query))
    else:
        distances = np.linalg.norm(vectors - query, axis=1)
    return np.lexsort((np.arange(len(vectors)), distances))[:k].tolist()


def test_migrations_are_recorded_and_applied_once(store: Store, database_url: str):
    latest = available_migrations()[-1].version
    assert schema_version(store.connection) == latest
    with Store.open(database_url) as again:
        assert schema_version(again.connection) == latest
    count = store.connection.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
    assert count == len(available_migrations())


def test_binary_copy_rows_round_trip():
    ids = np.array([3, 1, 2**40], dtype=np.int64)
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    decoded_ids, decoded = decode_id_vector_rows(encode_id_vector_rows(ids, vectors), 4)
    assert decoded_ids.tolist() == ids.tolist()
    np.testing.assert_array_equal(decoded, vectors)


def test_re_adding_items_updates_and_never_duplicates(store: Store):
    first = store.add_items("signs", rows(20))
    changed = rows(20)
    changed[3]["gloss"] = "RENAMED"
    second = store.add_items("signs", changed, batch_size=7)
    assert second.tolist() == first.tolist()
    items = store.items("signs")
    assert len(items) == 20
    assert items.set_index("key").loc["item-3", "gloss"] == "RENAMED"
    store.add_items("signs", rows(25))  # five new, twenty unchanged
    assert len(store.items("signs")) == 25
    assert store.list_datasets()[0].items == 25


def test_search_matches_brute_force_exactly_and_through_hnsw(store: Store):
    vectors = clustered(600, 16)
    ids = store.add_items("signs", rows(600))
    store.add_embeddings("toy", ids, vectors, batch_size=128)
    query = vectors[17] + 0.01
    expected = ids[brute_force(vectors, query, 10)].tolist()
    exact = store.search("signs", "toy", query, k=10)  # no index yet: exact scan
    assert [r.item_id for r in exact] == expected
    assert exact[0].distance == pytest.approx(1 - _cosine(vectors[17], query), abs=1e-5)
    assert store.build_index("toy") is True
    assert store.build_index("toy") is False
    store.set_ef_search(200)
    approximate = store.search("signs", "toy", query, k=10, exact=False)
    assert len(set(r.item_id for r in approximate) & set(expected)) >= 9
    assert [r.distance for r in approximate] == sorted(r.distance for r in approximate)


def test_l2_metric_matches_brute_force(store: Store):
    vectors = clustered(200, 8, seed=2)
    ids = store.add_items("signs", rows(200))
    store.add_embeddings("toy", ids, vectors)
    query = vectors[5] * 1.5
    results = store.search("signs", "toy", query, k=5, metric="l2")
    assert [r.item_id for r in results] == ids[brute_force(vectors, query, 5, "l2")].tolist()
    assert results[0].distance == pytest.approx(
        float(np.linalg.norm(vectors[brute_force(vectors, query, 1, "l2")[0]] - query)), rel=1e-5
    )


def test_where_filters_select_items(store: Store):
    vectors = clustered(300, 8, seed=3)
    ids = store.add_items("signs", rows(300))
    store.add_embeddings("toy", ids, vectors)
    store.build_index("toy")
    query = vectors[0]
    results = store.search("signs", "toy", query, k=7, where={"gloss": "G2", "signer": ["s0", "s1"]})
    assert len(results) == 7
    assert all(r.gloss == "G2" and r.signer in ("s0", "s1") for r in results)
    allowed = np.array([i % 5 == 2 and i % 3 in (0, 1) for i in range(300)])
    expected = ids[allowed][brute_force(vectors[allowed], query, 7)].tolist()
    assert [r.item_id for r in results] == expected
    through_index = store.search("signs", "toy", query, k=7, where={"gloss": "G2", "signer": ["s0", "s1"]}, exact=False)
    assert [r.item_id for r in through_index] == expected  # iterative HNSW scan with the join filter
    assert store.search("signs", "toy", query, where={"gloss": "NO-SUCH-GLOSS"}) == []


def test_datasets_are_searched_separately_and_removed_with_their_embeddings(store: Store):
    vectors = clustered(100, 8, seed=4)
    first = store.add_items("first", rows(50))
    second = store.add_items("second", rows(50))
    store.add_embeddings("toy", np.concatenate([first, second]), vectors)
    store.build_index("toy")
    results = store.search("second", "toy", vectors[10], k=50)
    assert {r.item_id for r in results} == set(second.tolist())
    assert {d.name: d.embeddings for d in store.list_datasets()} == {"first": {"toy": 50}, "second": {"toy": 50}}
    assert store.remove_dataset("first") == 50
    assert [d.name for d in store.list_datasets()] == ["second"]
    total = store.connection.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    assert total == 50
    ids, stored = store.vectors("second", "toy")
    assert ids.tolist() == sorted(second.tolist())
    np.testing.assert_array_equal(stored, vectors[50:])


def test_changed_source_drops_the_embedding_but_kept_video_pose_does_not(store: Store):
    manifest = [
        {"id": "a", "video_path": "/videos/a.mp4", "gloss": "A"},
        {"id": "b", "pose_path": "/poses/b.pose", "gloss": "B"},
    ]
    ids = store.add_items("signs", [{**manifest[0], "pose_path": "/extracted/a.pose"}, manifest[1]])  # as indexed
    store.add_embeddings("toy", ids, np.eye(2, dtype=np.float32))
    store.add_items("signs", manifest)  # same sources: the extracted pose path stays, embeddings stay
    assert store.items("signs").set_index("key").loc["a", "pose_path"] == "/extracted/a.pose"
    assert len(store.items("signs", pending_model="toy")) == 0
    moved = [{**manifest[0], "video_path": "/videos/a2.mp4"}, {**manifest[1], "end_ms": 500.0}]
    store.add_items("signs", moved)
    pending = store.items("signs", pending_model="toy")
    assert sorted(pending["key"]) == ["a", "b"]
    assert pending.set_index("key").loc["a", "pose_path"] == ""  # the old extraction belongs to the old video
    assert pending.set_index("key").loc["b", "end_ms"] == 500.0


def test_item_and_languages(store: Store):
    ids = store.add_items("signs", [*rows(4), {"id": "x", "pose_path": "/p.pose", "signed_language": "gsg"}])
    item = store.item(int(ids[0]))
    assert item.key == "item-0" and item.dataset == "signs" and item.gloss == "G0"
    assert store.item(10**9) is None
    assert store.languages("signs") == [("en", "ase", 4), ("", "gsg", 1)]


def test_clear_errors(store: Store):
    ids = store.add_items("signs", rows(10))
    store.add_embeddings("toy", ids, clustered(10, 8))
    with pytest.raises(UnknownDatasetError, match=r"no dataset named 'nope'.*signs"):
        store.search("nope", "toy", np.ones(8))
    with pytest.raises(UnknownModelError, match=r"'other'.*toy"):
        store.search("signs", "other", np.ones(8))
    with pytest.raises(DimensionMismatchError, match=r"3 dimensions.*8-d"):
        store.search("signs", "toy", np.ones(3))
    with pytest.raises(DimensionMismatchError, match=r"8-d embeddings.*5-d"):
        store.add_embeddings("toy", ids[:2], np.ones((2, 5)))
    with pytest.raises(DimensionMismatchError, match="1 to 2000 dimensions"):
        store.add_embeddings("huge", ids[:1], np.ones((1, 2001)))
    with pytest.raises(StoreError, match="cannot filter on 'color'"):
        store.search("signs", "toy", np.ones(8), where={"color": "red"})
    with pytest.raises(StoreError, match="unknown metric"):
        store.search("signs", "toy", np.ones(8), metric="hamming")
    with pytest.raises(StoreError, match="NaN"):
        store.add_embeddings("toy", ids[:1], np.full((1, 8), np.nan))
    with pytest.raises(UnknownDatasetError):
        store.remove_dataset("nope")


def test_unknown_item_ids_roll_back_the_whole_batch(store: Store):
    ids = store.add_items("signs", rows(3))
    with pytest.raises(StoreError, match="1 of 3 item ids are not in the store"):
        store.add_embeddings("toy", [ids[0], ids[1], 10**9], np.ones((3, 4)))
    assert store.connection.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 0


def test_a_model_with_other_weights_under_the_same_name_is_refused(store: Store):
    store.register_model("toy", 8, {"fingerprint": "aaaa"})
    assert store.check_model("toy", 8, "aaaa").dim == 8
    with pytest.raises(ModelMismatchError, match="other weights"):
        store.register_model("toy", 8, {"fingerprint": "bbbb"})


def test_the_approximate_query_uses_the_partial_hnsw_index(store: Store):
    vectors = clustered(3000, 16, seed=5)
    ids = store.add_items("signs", rows(3000))
    store.add_embeddings("toy", ids, vectors)
    store.build_index("toy")
    model = store.model("toy")
    dataset = store.dataset_id("signs")
    plan = _plan(store, knn.knn_sql(dataset, model.id, model.dim, 10, "cosine", {}, False), vectors[0])
    assert knn.index_name(model.id, "cosine") in plan
    plan = _plan(store, knn.knn_sql(dataset, model.id, model.dim, 10, "cosine", {}, True), vectors[0])
    assert "hnsw" not in plan


def test_connecting_to_a_missing_server_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="cannot connect"):
        Store.open(f"postgresql://nobody:secret@/nodb?host={tmp_path}")


def _plan(store: Store, query, vector) -> str:
    with store.connection.transaction():
        store.connection.execute("SET LOCAL enable_seqscan = off")
        rows = store.connection.execute(psycopg.sql.SQL("EXPLAIN ") + query, {"q": vector}).fetchall()
    return "\n".join(row[0] for row in rows)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_a_recordings_segments_come_in_time_order_through_their_index(store: Store):
    segments = [
        {"id": f"talk-{i}", "pose_path": "/poses/talk.pose", "video_path": "/videos/talk.mp4", "gloss": f"G{i}"}
        | {"start_ms": 1000 * (5 - i), "end_ms": 1000 * (5 - i) + 500}
        for i in range(5)
    ]
    store.add_items("talks", [*segments, *rows(20, prefix="other")])
    dataset_id = store.dataset_id("talks")
    items = store.recording_items(dataset_id, "/poses/talk.pose", "/videos/talk.mp4")
    assert [item.start_ms for item in items] == [1000, 2000, 3000, 4000, 5000]
    assert [item.key for item in store.recording_items(dataset_id, "/poses/talk.pose", "/videos/talk.mp4", 2)] == [
        "talk-4",
        "talk-3",
    ]
    with store.connection.transaction():
        store.connection.execute("SET LOCAL enable_seqscan = off")
        plan = store.connection.execute(
            "EXPLAIN SELECT * FROM items WHERE dataset_id = %s AND pose_path = %s ORDER BY start_ms",
            [dataset_id, "/poses/talk.pose"],
        ).fetchall()
    assert "items_dataset_pose_path" in "\n".join(row[0] for row in plan)
