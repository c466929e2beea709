"""The HTTP API's request and response bodies (pydantic models; they make the OpenAPI document).

An item's fields are not written here: `ItemFields` is generated from `signclip.store.items.Item`
(less where its files live on the server), so the API's item has the store's item's shape.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StrictStr, create_model

from signclip.search.relevance import Relevance, similarity
from signclip.segment.registry import DEFAULT_SEGMENTER
from signclip.store import items

MAX_CANDIDATES = 2000  # candidates one search may re-rank by DTW
MODEL_NAME_HELP = 'a loaded model: "default", an alias given to `--model`, or a model\'s config name'


def _storable(value: str) -> str:
    """Refuse text PostgreSQL cannot store or compare: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (it holds a lone surrogate)") from None
    return value


Text = Annotated[StrictStr, AfterValidator(_storable)]
# What the schema states of a non-empty text or list (the endpoints check it themselves, in their own words).
FilledText = Annotated[Text, Field(json_schema_extra={"minLength": 1})]
FilledTexts = Annotated[list[FilledText], Field(json_schema_extra={"minItems": 1})]
FilterValue = Text | list[Text]


class ModelChoice(BaseModel):
    """Which loaded model to use (the multipart form of the pose and video endpoints)."""

    model_name: Text | None = Field(None, description=MODEL_NAME_HELP)


class TextEmbedRequest(ModelChoice):
    """Texts to embed (prompts such as "<en> <ase> house", used as given)."""

    text: FilledText | FilledTexts = Field(description="one text or a list of texts")


class PoseEmbedRequest(ModelChoice):
    """`.pose` files to embed, each base64-encoded (standard alphabet)."""

    pose: FilledText | FilledTexts = Field(description="one base64 .pose file or a list of them")


class VideoForm(ModelChoice):
    """The text fields of a video upload."""

    return_pose: bool = Field(False, description="also return the extracted .pose file (base64)")


class EmbeddingsResponse(BaseModel):
    """One L2-normalized embedding per input, in input order."""

    model: str = Field(description="config name of the model that made the embeddings")
    embeddings: list[list[float]]


class CompatEmbeddingsResponse(BaseModel):
    """The original SignCLIP server's response: one raw (not normalized) embedding per input, as its
    `embed_text`/`embed_pose` return them."""

    embeddings: list[list[float]]


class VideoEmbedResponse(EmbeddingsResponse):
    """The embedding of an uploaded video's extracted pose, and that pose (base64) when asked for."""

    frames: int
    fps: float
    pose: str | None = Field(None, description="the extracted .pose file, base64, with return_pose=true")


class SearchRequest(ModelChoice):
    """A search: exactly one of text, pose (base64 .pose) or video (base64 video), in one dataset.

    As a multipart form, `pose` or `video` may instead be an uploaded file, and `filters` is JSON text.
    """

    dataset: Text
    text: Text | None = None
    pose: Text | None = None
    video: Text | None = None
    k: int = Field(10, ge=1, description="number of results (at most the server's max_k)")
    filters: dict[Text, FilterValue] = Field(
        default_factory=dict,
        description="item fields to match: gloss, signer, text, spoken_language, signed_language, split",
    )
    prompt: bool = Field(True, description="wrap a text query in the model's prompt template")
    spoken_language: Text | None = Field(None, description="prompt language (default: the dataset's)")
    signed_language: Text | None = Field(None, description="prompt sign language (default: the dataset's)")
    include_query_skeleton: bool = Field(False, description="return the query pose as a drawable skeleton")
    rerank: Literal["dtw", "none"] | None = Field(
        None,
        description="dtw: re-rank the index's top candidates of a pose or video query by DTW on their poses "
        "(default: for the training-free index pose-dtw, none for other models)",
    )
    candidates: int | None = Field(
        None, ge=1, le=MAX_CANDIDATES, description="with rerank=dtw: how many (default 200, or the kept count)"
    )
    fusion_weight: float | None = Field(
        None, ge=0, le=1000, description="with rerank=dtw and a learned model: DTW's weight (default: the kept one)"
    )


class RerankInfo(BaseModel):
    """How the candidates were re-ranked by DTW: how many, the fusion weight (null: DTW alone) and where it
    came from, the DTW preprocessing, and a note (candidates capped to the dataset's size)."""

    candidates: int
    weight: float | None
    weight_source: str
    preset: str
    note: str
    summary: str


class SkeletonComponentModel(BaseModel):
    name: str
    start: int
    count: int
    limbs: list[tuple[int, int]]


class SkeletonModel(BaseModel):
    """Frames of flat [x0, y0, x1, y1, ...] coordinates (null = missing) in a width x height box."""

    fps: float
    width: int
    height: int
    components: list[SkeletonComponentModel]
    frames: list[list[int | None]]


class QueryInfo(BaseModel):
    """What was searched for: the text and the prompt made of it, or the query pose's length and skeleton."""

    kind: Literal["text", "pose", "video"]
    text: str | None = None
    prompt: str | None = None
    frames: int | None = None
    skeleton: SkeletonModel | None = None


ITEM_FIELD_HELP = {"key": "the item's id in its manifest"}


def _item_fields() -> dict[str, Any]:
    """The pydantic fields of `items.Item` that clients see (all required), with their help texts."""
    hints = typing.get_type_hints(items.Item)
    return {
        field.name: (hints[field.name], Field(description=ITEM_FIELD_HELP.get(field.name)))
        for field in dataclasses.fields(items.Item)
        if field.name not in items.SOURCE_FIELDS
    }


ItemFields = create_model("ItemFields", **_item_fields())


def item_links(item_id: int) -> dict[str, str]:
    """Where to fetch an item's pose and skeleton."""
    return {"pose_url": f"/api/items/{item_id}/pose", "skeleton_url": f"/api/items/{item_id}/skeleton"}


class Item(ItemFields):
    """One indexed item (a video or a segment of one) and where to fetch its pose."""

    has_pose: bool
    pose_url: str
    skeleton_url: str
    video_url: str | None = Field(
        description="the recording's video (HTTP range requests); a segment plays from start_ms to end_ms"
    )

    @classmethod
    def of(cls, item: items.Item, **extra: Any):
        """Build from the store's item (its public fields, links and whether it has a pose) plus `extra`."""
        public = {name: value for name, value in item.to_dict().items() if name in ItemFields.model_fields}
        video_url = f"/api/items/{item.item_id}/video" if item.video_path else None
        return cls(**public, has_pose=bool(item.pose_path), video_url=video_url, **item_links(item.item_id), **extra)


class SearchHit(Item):
    """A ranked result: score = cosine similarity (1 - cosine distance; minus the Euclidean distance for the
    training-free index); `relevance` = how the score stands among the query's scores over the dataset's
    items (strong = it stands out; see search/relevance.py); `dtw_distance` when the search re-ranked by DTW."""

    rank: int
    score: float
    distance: float
    dtw_distance: float | None = None
    relevance: Relevance


class SearchResponse(BaseModel):
    dataset: str
    model: str
    query: QueryInfo
    results: list[SearchHit]
    strong_matches: int = Field(description="how many results stand out from the dataset's other items")
    cue_undefined: str = Field("", description="why the results have no relevance cue (untrained model, tiny dataset)")
    reranked: RerankInfo | None = Field(None, description="how the candidates were re-ranked by DTW (null: not)")
    empty_reason: str = Field("", description="why there are no results (a filter no item passes, ...); empty if any")

    @classmethod
    def of(cls, answer, skeleton: bool = False, metric: str = "cosine") -> SearchResponse:
        """Build from a `service.SearchAnswer`; with `skeleton`, the query pose as a drawable skeleton."""
        from signclip.serve.skeleton import pose_skeleton

        info = QueryInfo(kind=answer.kind, text=answer.text, prompt=answer.prompt)
        if answer.pose is not None:
            info.frames = int(answer.pose.body.data.shape[0])
            if skeleton:
                info.skeleton = SkeletonModel.model_validate(pose_skeleton(answer.pose).to_dict())
        scores = similarity([hit.distance for hit in answer.results], metric)
        hits = [
            SearchHit.of(
                hit, rank=rank, score=float(score), distance=hit.distance, dtw_distance=hit.dtw_distance, relevance=cue
            )
            for rank, (hit, cue, score) in enumerate(zip(answer.results, answer.relevance, scores, strict=True), 1)
        ]
        reranked = None
        if answer.reranked is not None:
            reranked = RerankInfo(**dataclasses.asdict(answer.reranked), summary=answer.reranked.line())
        return cls(
            dataset=answer.dataset,
            model=answer.model,
            query=info,
            results=hits,
            strong_matches=answer.strong_matches,
            cue_undefined=answer.cue_undefined,
            reranked=reranked,
            empty_reason=answer.empty_reason,
        )


class ItemResponse(Item):
    dataset: str


class DatasetEntry(BaseModel):
    name: str
    items: int
    embeddings: dict[str, int] = Field(description="embedding count per model name")
    vector_type: str = Field(description="how its vectors are stored: vector, halfvec or binary")


class DatasetsResponse(BaseModel):
    datasets: list[DatasetEntry]


class ModelEntry(BaseModel):
    name: str
    aliases: list[str]
    embed_dim: int
    prompt: str | None = Field(description="its prompt template (null: it embeds no text)")
    default: bool
    trained: bool = Field(description="false: random weights (an untrained registered model); rankings mean nothing")
    warning: str | None = Field(None, description="what to do about an untrained model")

    @classmethod
    def of(cls, served, default: bool) -> ModelEntry:
        """Build from a loaded `ServedModel`."""
        return cls(
            name=served.name,
            aliases=served.aliases,
            embed_dim=served.embed_dim,
            prompt=served.prompt,
            default=default,
            trained=served.trained,
            warning=served.warning,
        )


class ModelsResponse(BaseModel):
    models: list[ModelEntry]


class HealthResponse(BaseModel):
    status: Literal["ok"]
    models: list[str]
    database: Literal["ok"]


IndexItemLabels = create_model("IndexItemLabels", **{name: (Text, "") for name in items.label_fields()})


class IndexItem(IndexItemLabels):
    """One pose to add: its manifest id, the base64 .pose file, and its labels (those of an item)."""

    id: Text = Field(min_length=1)
    pose: Text


class IndexRequest(ModelChoice):
    """Poses to add to (or replace in) a dataset, embedded with one model; with `segment`, each pose is a
    continuous recording and every `level` segment a registered `segmenter` finds becomes an item."""

    dataset: Text = Field(min_length=1)
    items: list[IndexItem] = Field(min_length=1)
    segment: bool = False
    segmenter: Text = Field(DEFAULT_SEGMENTER, description="a registered segmenter (see `signclip segment --help`)")
    level: Literal["sign", "sentence"] = "sign"


class IndexResponse(BaseModel):
    dataset: str
    model: str
    item_ids: list[int]


class ErrorResponse(BaseModel):
    """Every error: a message naming the field and the problem (and, for a model mismatch, the dataset's models)."""

    detail: str
    fact: str | None = Field(None, description="with a 409 for a model choice: what is so, without a remedy")
    problem: str | None = Field(
        None, description="with a 409 for a model choice: other, several, none, unknown_source or not_loaded"
    )
    models: list[str] | None = Field(None, description="with a 409 for a model mismatch: the dataset's models")
    loaded: list[str] | None = Field(None, description="with a 409 for a model choice: the models the server loaded")
