"""The web UI's pure pieces: safe Markdown, pipeline stages, example requests, CSRF tokens."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from modelbay_gateway.records import Principal, User
from modelbay_gateway.web.app import build_templates
from modelbay_gateway.web.markdown import first_paragraph, is_safe_link, render_markdown
from modelbay_gateway.web.session import CsrfRejected, Visitor, check_csrf
from modelbay_gateway.web.snippets import example_value, snippets_for
from modelbay_gateway.web.views import field_errors, pipeline_stages, shown_version

HOSTILE_CARD = """# Iris

<script>alert("card")</script>
<img src=x onerror="alert('img')">
[click](javascript:alert(1)) [mixed](JaVaScRiPt:alert(2)) [tabbed](java&#x09;script:alert(3))
[vb](vbscript:msgbox(1)) [data](data:text/html;base64,PHNjcmlwdD4=)
<a href="javascript:alert(4)">raw link</a>
[docs](https://example.org/docs) [mail](mailto:a@example.org) [here](#methods) [rel](/models/a/b)
"""


def test_markdown_escapes_raw_html_and_keeps_it_visible() -> None:
    html = str(render_markdown(HOSTILE_CARD))
    assert "<script" not in html
    assert "<img" not in html
    assert '<a href="javascript' not in html
    assert "&lt;script&gt;alert(&quot;card&quot;)&lt;/script&gt;" in html
    assert "<h3>Iris</h3>" in html  # headings start under the page's h1 and h2


def test_markdown_makes_no_link_from_a_dangerous_scheme() -> None:
    html = str(render_markdown(HOSTILE_CARD)).lower()
    for scheme in ("javascript:", "vbscript:", "data:"):
        assert f'href="{scheme}' not in html
    assert "[click](javascript:alert(1))" in str(render_markdown(HOSTILE_CARD))


def test_markdown_keeps_safe_links_with_rel() -> None:
    html = str(render_markdown(HOSTILE_CARD))
    for href in ("https://example.org/docs", "mailto:a@example.org", "#methods", "/models/a/b"):
        assert f'<a href="{href}" rel="nofollow noopener ugc">' in html


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://a.example/x", True),
        ("http://a.example", True),
        ("//cdn.example/x.png", True),
        ("relative/path", True),
        ("?q=1", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("data:text/html,x", False),
        ("file:///etc/passwd", False),
        ("weird:thing", False),
    ],
)
def test_link_allowlist(url: str, safe: bool) -> None:
    assert is_safe_link(url) is safe


def test_first_paragraph_is_plain_text() -> None:
    assert first_paragraph("# Title\n\nA **bold** [link](https://x) model.") == "Title"
    assert first_paragraph("\n\nA **bold** [link](https://x) model.") == "A bold link model."
    assert first_paragraph(None) == ""


def _detail(status: str, **timings: object) -> dict[str, object]:
    return {"status": status, "timings": timings}


def test_pipeline_stages_follow_the_status() -> None:
    states = [stage.state for stage in pipeline_stages(_detail("uploaded"))]
    assert states == ["done", "current", "pending", "pending"]
    states = [stage.state for stage in pipeline_stages(_detail("building", resolved_at="t"))]
    assert states == ["done", "done", "current", "pending"]
    ready = pipeline_stages(_detail("ready", build_seconds=2.0, validation_seconds=1.5))
    assert [stage.state for stage in ready] == ["done", "done", "done", "done"]
    assert ready[2].seconds == 3.5


def test_pipeline_stages_show_where_it_failed() -> None:
    in_resolve = pipeline_stages(_detail("failed"))
    assert [stage.state for stage in in_resolve] == ["done", "failed", "pending", "failed"]
    in_build = pipeline_stages(_detail("failed", resolved_at="t"))
    assert [stage.state for stage in in_build] == ["done", "done", "failed", "failed"]
    assert in_build[3].label == "Failed"


def test_shown_version_prefers_asked_then_published_then_ready() -> None:
    model = {
        "published_version": 1,
        "versions": [
            {"version": 1, "status": "ready"},
            {"version": 2, "status": "ready"},
            {"version": 3, "status": "failed"},
        ],
    }
    assert shown_version(model, 3) == 3
    assert shown_version(model, 9) == 1
    assert shown_version({**model, "published_version": None}, None) == 2
    assert shown_version({"versions": []}, None) is None


def test_field_errors_from_a_problem() -> None:
    problem = {
        "errors": [
            {"field": "body.category", "location": ["body", "category"], "message": "bad"},
            {"field": "license", "location": ["license"], "message": "blank"},
        ]
    }
    assert field_errors(problem) == {"category": "bad", "license": "blank"}


def test_example_values_by_type() -> None:
    assert example_value("float") == 1.0
    assert example_value("list[float]") == [1.0, 1.0]
    assert example_value("str") == "text"
    assert example_value("IrisIn") == {}


def test_snippets_call_the_method_with_every_input_field() -> None:
    method = {
        "name": "classify",
        "inputs": [{"name": "sepal_length", "type": "float"}, {"name": "ok", "type": "bool"}],
    }
    snippets = snippets_for(method, "http://127.0.0.1:8080")
    assert snippets.url == "http://127.0.0.1:8080/model/methods/classify"
    assert json.loads(snippets.body) == {"sepal_length": 1.0, "ok": True}
    assert '-d \'{"sepal_length": 1.0, "ok": true}\'' in snippets.curl
    assert "'ok': True" in snippets.python
    assert "JSON.stringify" in snippets.javascript


def _signed_in(secret: str) -> Visitor:
    user = User(uuid.uuid4(), "alice", None, False, datetime.now(UTC))
    return Visitor(Principal(user=user, token_id=uuid.uuid4()), session_secret=secret)


def test_csrf_token_is_bound_to_the_session() -> None:
    visitor = _signed_in("secret-one")
    check_csrf(visitor, visitor.csrf_token)
    with pytest.raises(CsrfRejected):
        check_csrf(visitor, _signed_in("secret-two").csrf_token)
    with pytest.raises(CsrfRejected):
        check_csrf(visitor, None)
    assert visitor.csrf_token != "secret-one"  # the secret itself never goes into a page


def test_signin_csrf_is_double_submit() -> None:
    visitor = Visitor(None, signin_csrf="cookie-value")
    check_csrf(visitor, "cookie-value")
    with pytest.raises(CsrfRejected):
        check_csrf(visitor, "other")
    with pytest.raises(CsrfRejected):
        check_csrf(Visitor(None), "")  # no cookie: nothing can match


def test_interface_diff_section_lists_breaking_and_additive_changes() -> None:
    removed = "classify: input field x (double, 4) removed"
    change = {"classification": "breaking", "message": removed}
    added = {"classification": "additive", "message": "classify: output field p (double, 2) added"}
    detail = {
        "version": 3,
        "interface_diff": {
            "compared_to": 2,
            "breaking": True,
            "breaking_changes": 1,
            "additive_changes": 1,
            "changes": [change, added],
        },
    }
    html = build_templates().env.get_template("sections/interface_diff.html").render(detail=detail)
    assert "Interface changes in v3" in html
    assert "since v2" in html
    assert "1 change may break callers, 1 additive." in " ".join(html.split())
    assert '<span class="badge status-failed">breaking</span>' in html
    assert "classify: input field x (double, 4) removed" in html
