"""How the command line words the library's errors: the fact, then what to do about it with this command's
options (the library's messages name no front end)."""

from __future__ import annotations

import sys

from signclip.errors import SignclipError

DATABASE_URL_HELP = "PostgreSQL URL (default $DATABASE_URL, else the embedded server)"
EF_SEARCH_HELP = (
    "HNSW candidates each search keeps, 1-1000 (100): higher recalls more and takes longer; a collection of "
    "millions of segments wants 128-160 (docs/search.md, Corpus scale)"
)


def warn(message: str | None) -> None:
    """Print a warning or note to stderr (nothing for None)."""
    if message:
        print(message, file=sys.stderr)


def cli_message(error: SignclipError) -> str:
    """The one line `signclip` prints for `error` (without the "error: " prefix)."""
    from signclip.search.models import ModelChoiceError
    from signclip.search.queries import PromptError

    if isinstance(error, ModelChoiceError):
        remedy = {
            "other": "choose one of them with --model NAME_OR_DIRECTORY",
            "several": "choose one with --model NAME_OR_DIRECTORY",
            "none": f"index it first: signclip index add --dataset {error.dataset} ...",
            "unknown_source": "give it with --model DIRECTORY",
            "not_loaded": "start the server with one of them: signclip serve --model DIRECTORY",
        }[error.problem]
        return f"{error}; {remedy}"
    if isinstance(error, PromptError):
        return (
            f"{error}; filter with --where signed_language=CODE, index with --signed-language CODE, or pass --raw-text"
        )
    return str(error)
