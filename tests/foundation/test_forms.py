"""Request forms: validation per type, and which fields machine translation may see."""

from __future__ import annotations

import pytest
from foundation_support import mla_form
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.errors import InvalidRequest
from gateway.domain.fields import FieldKind
from gateway.domain.forms import field_values, translatable_segments, validate_form
from gateway.domain.request_types import SCHEMAS, RequestType


def test_fixture_form_is_valid_and_only_free_text_is_translatable() -> None:
    form = validate_form(mla_form())
    paths = [segment.path for segment in translatable_segments(form)]
    assert "sections.G.facts" in paths
    assert "sections.E[0].description" in paths
    kinds = {path: spec.kind for path, spec, _ in field_values(form)}
    assert all(kinds[path] is FieldKind.FREE_TEXT for path in paths)
    never = {
        "sections.E[0].surname",
        "sections.G.statutory_provisions",
        "sections.C.measures",
        "sections.B.deadline",
        "sections.E[0].identity_document",
        "sections.K.phone",
    }
    assert never.isdisjoint(paths)


def test_every_problem_is_reported_with_its_path() -> None:
    form = mla_form()
    form["sections"]["G"]["facts"] = ""
    form["sections"]["B"]["deadline"] = "15/01/2027"
    form["sections"]["C"]["measures"] = ["teleportation"]
    form["sections"]["Z"] = {}
    with pytest.raises(InvalidRequest) as refused:
        validate_form(form)
    found = {(p.path, p.code) for p in refused.value.problems}
    assert found == {
        ("sections.G.facts", "required"),
        ("sections.B.deadline", "bad-date"),
        ("sections.C.measures", "not-in-list"),
        ("sections.Z", "unknown-field"),
    }


@pytest.mark.parametrize("request_type", list(RequestType))
def test_each_type_refuses_an_empty_form_naming_its_required_sections(
    request_type: RequestType,
) -> None:
    form = mla_form(request_type=request_type.value, sections={})
    with pytest.raises(InvalidRequest) as refused:
        validate_form(form)
    required = {f"sections.{s.key}" for s in SCHEMAS[request_type].sections if s.required}
    assert {p.path for p in refused.value.problems} == required


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_arbitrary_json_is_either_valid_or_a_clean_refusal(value: object) -> None:
    form = mla_form()
    form["sections"]["G"] = value
    problems = None
    try:
        validate_form(form)
    except InvalidRequest as refused:
        problems = refused.problems
    assert problems is None or len(problems) > 0
