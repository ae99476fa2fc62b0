"""The registry of multimodal models behind homework 4: every entry fills the template and cites its source."""
import pytest

from course_utils.survey import FIELDS, REGISTRY, ModelEntry, entry_problems, survey_table


def test_every_registry_entry_fills_the_template_and_cites_a_source():
    assert len(REGISTRY) >= 6
    for entry in REGISTRY:
        assert entry_problems(entry) == [], entry.name
    assert {"CLIP", "Flamingo", "BLIP-2", "LLaVA", "GPT-4V", "Gemini"} <= {e.name for e in REGISTRY}


def test_undisclosed_facts_are_said_to_be_undisclosed():
    gpt4v = next(e for e in REGISTRY if e.name == "GPT-4V")
    assert "not disclosed" in gpt4v.architecture and "not disclosed" in gpt4v.data


def test_entry_problems_name_the_field_and_the_value():
    row = {**REGISTRY[0].as_row(), "name": "X", "source": "a blog", "year": 1999, "limits": " "}
    problems = " | ".join(entry_problems(row))
    assert "source 'a blog'" in problems and "year 1999" in problems and "'limits' is empty" in problems
    assert entry_problems({"name": "Y"}) == [f"Y: field '{f}' is missing" for f in FIELDS if f != "name"]
    assert "got str" in entry_problems("CLIP")[0]


def test_survey_table_rows_and_errors():
    rows = survey_table(REGISTRY[:2])
    assert [r["name"] for r in rows] == ["CLIP", "ALIGN"] and set(rows[0]) == set(FIELDS)
    with pytest.raises(ValueError, match="no entries"):
        survey_table([])
    with pytest.raises(ValueError, match="field 'data' is missing"):
        survey_table([{k: v for k, v in REGISTRY[0].as_row().items() if k != "data"}])
    assert isinstance(REGISTRY[0], ModelEntry)
