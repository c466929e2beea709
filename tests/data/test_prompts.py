"""Prompt templates, gloss normalizers and the sign language table."""

from __future__ import annotations

import pandas as pd
import pytest

from signclip.data.prompts import (
    GLOSS_NORMALIZERS,
    PROMPT_TEMPLATES,
    normalize_asl_citizen_gloss,
    normalize_sem_lex_gloss,
    render_prompt,
    render_prompts,
    resolve_template,
    sign_language_name,
    sign_languages,
    spreadthesign_locales,
    template_fields,
)
from signclip.errors import ConfigError

ROW = {"id": "a", "text": "house", "gloss": "HOUSE", "spoken_language": "en", "signed_language": "ase"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("signclip_v1", "<en> <ase> house"),
        ("fingerclip", "Fingerspell the letter house in American Sign Language."),
        ("v0", 'Sign the sign "house" in American Sign Language.'),
        ("plain", "house"),
    ],
)
def test_registered_templates(name, expected):
    assert render_prompt(name, ROW) == expected


def test_custom_template_uses_any_manifest_field():
    assert render_prompt("{gloss} / {signed_language} / {language_name}", ROW) == "HOUSE / ase / American Sign Language"


def test_fingerclip_names_other_sign_languages():
    row = {**ROW, "text": "Ä", "spoken_language": "de", "signed_language": "sgg"}
    assert render_prompt("fingerclip", row) == "Fingerspell the letter Ä in Swiss-German Sign Language."


def test_row_language_name_wins_over_the_table():
    assert render_prompt("fingerclip", {**ROW, "language_name": "ASL"}).endswith("in ASL.")


def test_empty_spoken_language_falls_back_to_the_usual_one():
    assert render_prompt("signclip_v1", {**ROW, "spoken_language": "", "signed_language": "gsg"}) == "<de> <gsg> house"


def test_render_prompts_on_a_dataframe():
    table = pd.DataFrame([ROW, {**ROW, "id": "b", "text": "tree"}])
    assert render_prompts("signclip_v1", table) == ["<en> <ase> house", "<en> <ase> tree"]


def test_pandas_row_with_nan_counts_as_missing():
    row = pd.Series({**ROW, "signed_language": float("nan"), "spoken_language": ""})
    with pytest.raises(ConfigError, match="needs \\{spoken\\}"):
        render_prompt("signclip_v1", row)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("signclip_v2", "unknown prompt template"),
        ("{colour} sign", "not a manifest field"),
        ("{text", "malformed"),
    ],
)
def test_bad_templates_are_config_errors(template, message):
    with pytest.raises(ConfigError, match=message):
        render_prompt(template, ROW)


def test_unknown_sign_language_code_is_named():
    with pytest.raises(ConfigError, match="'xyz'"):
        render_prompt("fingerclip", {**ROW, "signed_language": "xyz"})


def test_resolve_and_fields():
    assert resolve_template("plain") == PROMPT_TEMPLATES["plain"]
    assert resolve_template("{text}!") == "{text}!"
    assert template_fields(PROMPT_TEMPLATES["signclip_v1"]) == ["spoken", "signed", "text"]
    assert template_fields("{text} {text}") == ["text"]


@pytest.mark.parametrize(
    ("gloss", "expected"),
    [("APPLE", "apple"), ("APPLE2", "apple"), ("OHISEE ", "ohisee"), ("9OCLOCK", "9oclock"), ("GO12", "go")],
)
def test_asl_citizen_normalizer(gloss, expected):
    assert normalize_asl_citizen_gloss(gloss) == expected


@pytest.mark.parametrize(
    ("gloss", "expected"),
    [("last_year", "last year"), ("think_chin_2", "think chin"), ("30_minute ", "30 minute"), ("apple", "apple")],
)
def test_sem_lex_normalizer(gloss, expected):
    assert normalize_sem_lex_gloss(gloss) == expected


def test_normalizer_registry():
    assert GLOSS_NORMALIZERS["asl-citizen"]("HOUSE1") == "house"
    assert GLOSS_NORMALIZERS["none"](" HOUSE1 ") == "HOUSE1"


def test_language_table_covers_common_codes():
    table = sign_languages()
    for code in ["ase", "bfi", "fsl", "asf", "jsl", "gsg", "sgg", "dse", "csl", "kvk"]:
        assert table[code].name.endswith(("Sign Language", "Netherlands")), code
    assert sign_language_name("BFI") == "British Sign Language"
    assert all(signed in table for _, signed in spreadthesign_locales().values())


def test_language_table_covers_the_fingerspelling_data(fingerspelling_dir):
    index = pd.read_csv(fingerspelling_dir / "index.csv", dtype=str, keep_default_na=False)
    table = sign_languages()
    for signed, spoken in set(zip(index["signed_language"], index["spoken_language"], strict=True)):
        assert signed in table, signed
        assert table[signed].spoken == spoken, signed
