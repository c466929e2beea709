"""Text prompts for manifest rows, gloss normalizers, and the sign language name table.

Templates are data: a registered name (`signclip_v1`, `fingerclip`, `v0`, `plain`) or any template
string with `{field}` placeholders. Fields: every manifest column (`text`, `gloss`, `signer`,
`spoken_language`, `signed_language`, ...), plus `spoken` and `signed` (short aliases) and
`language_name` (the English name of the signed language, from `sign_languages.json`), and
`letter_names` (the text spelled by Unicode character names, for letters that differ only by diacritics).
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from signclip.data.manifest import MANIFEST_COLUMNS
from signclip.errors import ConfigError

PROMPT_TEMPLATES = {
    "signclip_v1": "<{spoken}> <{signed}> {text}",
    "fingerclip": "Fingerspell the letter {text} in {language_name}.",
    "v0": 'Sign the sign "{text}" in American Sign Language.',
    "plain": "{text}",
}
FIELD_ALIASES = {"spoken": "spoken_language", "signed": "signed_language"}
DERIVED_FIELDS = ("language_name", "letter_names")


@dataclass(frozen=True)
class SignLanguage:
    """One row of the sign language table: ISO 639-3 code, English name, usual spoken language."""

    code: str
    name: str
    spoken: str


@cache
def _language_data() -> dict:
    return json.loads((Path(__file__).parent / "sign_languages.json").read_text(encoding="utf-8"))


def sign_languages() -> dict[str, SignLanguage]:
    """Return the sign language table keyed by ISO 639-3 code (e.g. `ase`, `gsg`, `bfi`)."""
    return {
        code: SignLanguage(code=code, name=entry["name"], spoken=entry["spoken"])
        for code, entry in _language_data()["sign_languages"].items()
    }


def sign_language(code: str) -> SignLanguage:
    """Return the table entry for a sign language code; raises ConfigError for an unknown code."""
    table = sign_languages()
    key = code.strip().lower()
    if key not in table:
        raise ConfigError(
            f"unknown sign language code {code!r}: not in signclip/data/sign_languages.json "
            f"({len(table)} ISO 639-3 codes, e.g. ase, gsg, bfi)"
        )
    return table[key]


def sign_language_name(code: str) -> str:
    """Return the English name of a sign language code, e.g. `ase` -> "American Sign Language"."""
    return sign_language(code).name


def spreadthesign_locales() -> dict[str, tuple[str, str]]:
    """Return Spreadthesign locale codes (`en.us`) mapped to (spoken ISO 639-1, signed ISO 639-3)."""
    return {locale: (pair[0], pair[1]) for locale, pair in _language_data()["spreadthesign_locales"].items()}


def resolve_template(name_or_template: str) -> str:
    """Return the template string for a registered name, or `name_or_template` itself if it has fields.

    A string that is neither a registered name nor contains a `{field}` is an error (most likely a
    misspelled name), since it would give every row the same prompt.
    """
    if name_or_template in PROMPT_TEMPLATES:
        return PROMPT_TEMPLATES[name_or_template]
    fields = template_fields(name_or_template)
    if not fields:
        raise ConfigError(
            f"unknown prompt template {name_or_template!r}: use one of {sorted(PROMPT_TEMPLATES)} "
            "or a template string with fields such as {text}"
        )
    return name_or_template


def template_fields(template: str) -> list[str]:
    """Return the field names a template uses, in order ("<{spoken}> {text}" -> ["spoken", "text"])."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ConfigError(f"prompt template {template!r} is malformed: {error}") from None
    return list(dict.fromkeys(field for _, field, _, _ in parsed if field is not None))


def render_prompt(template: str, row: Mapping[str, object]) -> str:
    """Fill a template (name or string) from a manifest row (dict or pandas Series); returns the prompt.

    `language_name` comes from the row when it has one, else from the signed language code. An
    empty spoken language falls back to the spoken language usually paired with the signed one.
    A field the row cannot fill raises ConfigError naming it.
    """
    template = resolve_template(template)
    values = {}
    for field in template_fields(template):
        values[field] = _field_value(field, row, template)
    return template.format_map(values)


def render_prompts(template: str, rows: Sequence[Mapping[str, object]] | object) -> list[str]:
    """Render one prompt per row of a manifest DataFrame (or any sequence of row mappings)."""
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict(orient="records")
    return [render_prompt(template, row) for row in rows]


def _field_value(field: str, row: Mapping[str, object], template: str) -> str:
    column = FIELD_ALIASES.get(field, field)
    value = _text(row.get(column))
    if value:
        return value
    signed = _text(row.get("signed_language"))
    if column == "letter_names" and _text(row.get("text")):
        return letter_names(_text(row.get("text")))
    if column == "language_name" and signed:
        return sign_language_name(signed)
    if column == "spoken_language" and signed:
        return sign_language(signed).spoken
    if column not in row and column not in (*MANIFEST_COLUMNS, *DERIVED_FIELDS):
        raise ConfigError(f"prompt template {template!r} uses {{{field}}}, which is not a manifest field")
    raise ConfigError(f"prompt template {template!r} needs {{{field}}}, but the row {_row_name(row)} has none")


def letter_names(text: str) -> str:
    """Spell `text` by Unicode character names, so letters an uncased, accent-stripping tokenizer would
    merge stay apart: "Ä" -> "LATIN CAPITAL LETTER A WITH DIAERESIS"; several characters join with ", "."""
    return ", ".join(unicodedata.name(character, character) for character in text)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _row_name(row: Mapping[str, object]) -> str:
    return repr(_text(row.get("id"))) if _text(row.get("id")) else "(no id)"


def normalize_asl_citizen_gloss(gloss: str) -> str:
    """ASL Citizen gloss -> prompt text: lower case, trailing variant digits removed ("APPLE2" -> "apple")."""
    return re.sub(r"\d+$", "", gloss.strip()).strip().lower()


def normalize_sem_lex_gloss(gloss: str) -> str:
    """Sem-Lex label -> prompt text: `_<digits>` suffix removed, `_` -> space ("last_year_2" -> "last year")."""
    return re.sub(r"_\d+$", "", gloss.strip()).replace("_", " ").strip()


GLOSS_NORMALIZERS: dict[str, Callable[[str], str]] = {
    "none": str.strip,
    "asl-citizen": normalize_asl_citizen_gloss,
    "sem-lex": normalize_sem_lex_gloss,
}
