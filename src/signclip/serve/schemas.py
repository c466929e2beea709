"""The HTTP API's request and response bodies (pydantic models; they make the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StrictStr

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
FilterValue = Text | list[Text]


class ModelChoice(BaseModel):
    """Which loaded model to use (the multipart form of the pose and video endpoints)."""

    model_name: Text | None = Field(None, description=MODEL_NAME_HELP)


class TextEmbedRequest(ModelChoice):
    """Texts to embed (prompts such as "<en> <ase> house", used as given)."""

    text: Text | list[Text] = Field(description="one text or a list of texts")


class PoseEmbedRequest(ModelChoice):
    """`.pose` files to embed, each base64-encoded (standard alphabet)."""

    pose: Text | list[Text] = Field(description="one base64 .pose file or a list of them")


class VideoForm(ModelChoice):
    """The text fields of a video upload."""

    return_pose: bool = Field(False, description="also return the extracted .pose file (base64)")


class EmbeddingsResponse(BaseModel):
    """One L2-normalized embedding per input, in input order."""

    model: str = Field(description="config name of the model that made the embeddings")
    embeddings: list[list[float]]


class CompatEmbeddingsResponse(BaseModel):
    """The original SignCLIP server's response."""

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


class Item(BaseModel):
    """One indexed item (a video or a segment of one) and where to fetch its pose."""

    item_id: int
    key: str = Field(description="the item's id in its manifest")
    gloss: str
    text: str
    signer: str
    spoken_language: str
    signed_language: str
    split: str
    start_ms: float | None
    end_ms: float | None
    metadata: dict[str, Any]
    has_pose: bool
    pose_url: str
    skeleton_url: str


class SearchHit(Item):
    """A ranked result: score = cosine similarity (1 - cosine distance)."""

    rank: int
    score: float
    distance: float


class SearchResponse(BaseModel):
    dataset: str
    model: str
    query: QueryInfo
    results: list[SearchHit]


class ItemResponse(Item):
    dataset: str


class DatasetEntry(BaseModel):
    name: str
    items: int
    embeddings: dict[str, int] = Field(description="embedding count per model name")


class DatasetsResponse(BaseModel):
    datasets: list[DatasetEntry]


class ModelEntry(BaseModel):
    name: str
    aliases: list[str]
    embed_dim: int
    prompt: str
    default: bool


class ModelsResponse(BaseModel):
    models: list[ModelEntry]


class HealthResponse(BaseModel):
    status: Literal["ok"]
    models: list[str]
    database: Literal["ok"]


class IndexItem(BaseModel):
    """One pose to add: its manifest id, the base64 .pose file, and its labels."""

    id: Text = Field(min_length=1)
    pose: Text
    gloss: Text = ""
    text: Text = ""
    signer: Text = ""
    spoken_language: Text = ""
    signed_language: Text = ""
    split: Text = ""


class IndexRequest(ModelChoice):
    """Poses to add to (or replace in) a dataset, embedded with one model."""

    dataset: Text = Field(min_length=1)
    items: list[IndexItem] = Field(min_length=1)


class IndexResponse(BaseModel):
    dataset: str
    model: str
    item_ids: list[int]


class ErrorResponse(BaseModel):
    """Every error: a message naming the field and the problem."""

    detail: str
