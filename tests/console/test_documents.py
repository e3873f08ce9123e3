"""A printed document shown in the console: found by the names the workers gave it, in the console's own documents
folder, never by a path a request spells; a missing one says where the console looked."""
from __future__ import annotations

import datetime as dt

import httpx
import pytest

from console import documents
from console.app import Console, Settings, create_app
from domain.case import Action

PASSWORD = "un mot de passe assez long"
NOW = dt.datetime(2027, 3, 10, 12, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("ref, url", [
    ("/srv/relance/documents/F-2027-001/notice.pdf", "/documents/F-2027-001/notice.pdf"),
    ("/autre/hote/documents/F-2027-001/insurer_file.json", "/documents/F-2027-001/insurer_file.json"),
    ("<F-2027-001:notice@relance.example>", None),  # a message id
    ("account-D1:2027-03-10:notice", None),  # a customer's message key
    ("/srv/documents/F 1/../../etc/passwd.pdf", None),
    ("/etc/passwd", None),
])
def test_an_audit_reference_links_to_a_document_only_when_it_is_one(ref, url):
    assert documents.url_of(ref) == url


def test_a_case_lists_each_document_once_newest_first():
    letter = Action(at=NOW, stage="formal_notice", kind="letter", step="notice", rule_id="mise-en-demeure",
                    policy_ref="default@v4", refs=["/docs/F-1/notice.pdf"], summary="Courrier mise_en_demeure")
    again = letter.model_copy(update={"at": NOW + dt.timedelta(minutes=1), "kind": "email",
                                      "refs": ["<m@x>", "/docs/F-1/notice.pdf"]})
    filed = letter.model_copy(update={"at": NOW + dt.timedelta(days=9), "kind": "document", "step": "small_claims:dossier",
                                      "refs": ["/docs/F-1/small_claims_dossier.pdf"], "summary": "Dossier"})
    shown = documents.in_audit([letter, again, filed])
    assert [d.name for d in shown] == ["small_claims_dossier.pdf", "notice.pdf"]


@pytest.fixture
def console(tmp_path):
    root = tmp_path / "documents"
    (root / "F-1").mkdir(parents=True)
    (root / "F-1" / "notice.pdf").write_bytes(b"%PDF-1.7 la mise en demeure")
    (tmp_path / "secret.pdf").write_bytes(b"%PDF-1.7 hors du dossier")
    (root / "F-1" / "lien.pdf").symlink_to(tmp_path / "secret.pdf")

    async def no_temporal():
        raise AssertionError("a document is read from the folder, not from Temporal")

    app = Console(Settings(store_path=tmp_path / "c.sqlite3", read_model_path=tmp_path / "r.sqlite3",
                           refresh_seconds=0, documents_dir=root), client=no_temporal, today=lambda: NOW.date())
    app.store.add_user("lecture", "lecture", "read", PASSWORD, NOW)
    app.store.add_user("admin", "admin", "admin", PASSWORD, NOW)
    return app


async def _get(console, path: str, login: str = "lecture") -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(console, refresher=False)),
                                 base_url="http://console.test") as client:
        assert (await client.get(path)).status_code != 200, "signed in first"
        signed = await client.post("/login", data={"login": login, "password": PASSWORD, "next": "/"})
        assert signed.status_code == 303
        return await client.get(path)


async def test_a_document_is_shown_inline_from_the_console_s_folder(console):
    answer = await _get(console, "/documents/F-1/notice.pdf")
    assert answer.status_code == 200 and answer.content == b"%PDF-1.7 la mise en demeure"
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("inline") and answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/documents/F-1/absent.pdf", "/documents/F-1/lien.pdf", "/documents/F-1/notice.txt",
                                  "/documents/F-1/.pdf"])
async def test_a_missing_document_says_where_the_console_looked_and_a_link_out_is_missing_too(console, path):
    answer = await _get(console, path, login="admin")
    assert answer.status_code == 404 and b"hors du dossier" not in answer.content
    assert "RELANCE_DOCUMENTS_DIR" in answer.text and str(console.settings.documents_dir) in answer.text
    read_only = await _get(console, path)
    assert read_only.status_code == 404 and "RELANCE_DOCUMENTS_DIR" in read_only.text
    assert str(console.settings.documents_dir) not in read_only.text, "the server's folders: for admins only"


@pytest.mark.parametrize("path", ["/documents/F-1/..%2F..%2Fsecret.pdf", "/documents/..%2F/secret.pdf",
                                  "/documents/F-1/%2e%2e/secret.pdf"])
async def test_a_path_spelled_in_the_request_reaches_nothing(console, path):
    answer = await _get(console, path)
    assert answer.status_code == 404 and b"hors du dossier" not in answer.content
