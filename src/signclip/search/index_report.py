"""What an index run did, stage by stage, as the front ends print it."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_LISTED = 20


@dataclass
class IndexReport:
    """An index run: rows in the manifest (`items`; `recordings` -> segments when segmenting), embedded now,
    skipped as done, videos extracted, failed rows (key, why), stale segments removed, the store ids of
    the stored rows (in row order), whether the ANN index was built now (with which graph settings; rebuilt
    when it replaced one), and the seconds of each stage."""

    dataset: str
    model: str
    items: int = 0
    recordings: int = 0
    segmenter: str | None = None
    unsegmented: list[tuple[str, str]] = field(default_factory=list)
    embedded: int = 0
    already_embedded: int = 0
    removed: int = 0
    extracted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)
    index_built: bool = False
    index_rebuilt: bool = False
    index_graph: str = ""
    bulk_load: bool = False
    seconds: float = 0.0
    extract_seconds: float = 0.0
    segment_seconds: float = 0.0
    embed_seconds: float = 0.0
    store_seconds: float = 0.0
    index_seconds: float = 0.0

    def lines(self) -> list[str]:
        """Return the report as printable lines; each rate says what it times."""
        lines = [f"dataset {self.dataset!r}, model {self.model!r}: {self.items} items in the manifest"]
        if self.segmenter is not None:
            lines[0] = (
                f"dataset {self.dataset!r}, model {self.model!r}: {self.recordings} recordings -> "
                f"{self.items} segments (segmenter {self.segmenter!r})"
            )
        lines.append(
            f"embedded {self.embedded} now, {self.already_embedded} already embedded, "
            f"{self.extracted} videos extracted to poses, {len(self.failed)} failed"
        )
        stages = [
            ("extracting poses", self.extract_seconds, self.extracted, "videos"),
            ("segmenting", self.segment_seconds, self.recordings, "recordings"),
            ("embedding", self.embed_seconds, self.embedded, "items"),
        ]
        timed = [
            f"{name} {seconds:.1f} s ({count / seconds:.1f} {unit}/s)"
            for name, seconds, count, unit in stages
            if seconds > 0
        ]
        if timed:
            lines.append(f"time: {', '.join(timed)}; storing {self.store_seconds:.1f} s; {self.seconds:.1f} s in all")
        if self.removed:
            lines.append(f"removed {self.removed} stored segments that re-segmented recordings no longer have")
        if self.index_built:
            how = "after a bulk load" if self.bulk_load else "for this model"
            verb = "rebuilt" if self.index_rebuilt else "built"
            lines.append(f"{verb} the HNSW index ({self.index_graph}) {how} in {self.index_seconds:.1f} s")
        lines += [f"no segments: {key}: {message}" for key, message in self.unsegmented[:MAX_LISTED]]
        lines += [f"failed: {key}: {message}" for key, message in self.failed[:MAX_LISTED]]
        if len(self.failed) > MAX_LISTED:
            lines.append(f"... and {len(self.failed) - MAX_LISTED} more failures")
        return lines
