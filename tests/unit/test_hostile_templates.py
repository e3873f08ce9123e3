"""Templates are edited by admins: one must not run code on the worker, read its files, or retry forever."""
from __future__ import annotations

import jinja2
import pytest

from activities.contracts import PermanentFailure
from activities.rendering import make_environment, render_document, render_email
from tests.unit.test_rendering import make_context

ATTACKS = {
    "subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "popen": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "globals_of_a_filter": "{{ joiner.__init__.__globals__ }}",
    "format_string": "{{ '{0.__class__.__init__.__globals__}'.format(invoice) }}",
}


def _templates(tmp_path, kind: str, body: str) -> None:
    folder = tmp_path / "fr"
    folder.mkdir(exist_ok=True)
    (folder / f"{kind}.subject.txt").write_text("Relance")
    (folder / f"{kind}.html").write_text(f"<p>{body}</p>")
    (folder / f"{kind}.txt").write_text("texte")
    (folder / f"{kind}.document.html").write_text(f"<p>{body}</p>")


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_template_reaching_python_internals_fails_permanently_naming_the_template(tmp_path, monkeypatch, name):
    _templates(tmp_path, name, ATTACKS[name])
    monkeypatch.setenv("RELANCE_TEMPLATES_DIR", str(tmp_path))
    with pytest.raises(PermanentFailure, match=f"template fr/{name}.html") as caught:
        render_email(make_context(name))
    assert isinstance(caught.value.__cause__, jinja2.sandbox.SecurityError)
    with pytest.raises(PermanentFailure, match=f"template fr/{name}.document.html"):
        render_document(make_context(name))


def test_the_environment_itself_is_the_sandbox(tmp_path):
    (tmp_path / "t.txt").write_text(ATTACKS["popen"])
    with pytest.raises(jinja2.sandbox.SecurityError):
        make_environment(tmp_path).get_template("t.txt").render()


@pytest.mark.parametrize("path", ["/etc/hostname", "../../../../../../etc/hostname", "/etc/passwd"])
def test_a_template_cannot_include_a_file_outside_the_templates_folder(tmp_path, monkeypatch, path):
    _templates(tmp_path, "peek", f"{{% include '{path}' %}}")
    monkeypatch.setenv("RELANCE_TEMPLATES_DIR", str(tmp_path))
    with pytest.raises(jinja2.TemplateNotFound):
        render_email(make_context("peek"))


def test_a_syntax_error_is_permanent_and_names_template_and_line(tmp_path, monkeypatch):
    _templates(tmp_path, "typo", "\n{% if %}")
    monkeypatch.setenv("RELANCE_TEMPLATES_DIR", str(tmp_path))
    with pytest.raises(PermanentFailure, match=r"fr/typo.html:2"):
        render_email(make_context("typo"))


def test_a_huge_range_is_refused_by_the_sandbox(tmp_path):
    (tmp_path / "t.txt").write_text("{% for i in range(10**9) %}x{% endfor %}")
    with pytest.raises(OverflowError):
        make_environment(tmp_path).get_template("t.txt").render()


def test_a_script_in_the_debtor_name_is_escaped_in_html_and_left_as_text_in_the_text_part():
    email = render_email(make_context("reminder_overdue", debtor_name="<script>alert(1)</script>"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html and "<script>" not in email.html
    assert "<script>alert(1)</script>" in email.text
    assert "<script>" not in render_document(make_context("mise_en_demeure", debtor_name="<script>x</script>"))
