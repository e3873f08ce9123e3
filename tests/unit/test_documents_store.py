"""The documents' store: one folder per invoice, never shared by two invoices, and a retry writes the same file."""
from __future__ import annotations

from activities.documents import DocumentStore, folder_of
from console.documents import url_of


def test_two_invoices_whose_numbers_read_alike_never_share_a_folder(tmp_path):
    store = DocumentStore(tmp_path)
    slashed = store.write("FA/2026/12", "FA/2026/12:notice", b"%PDF slashed")
    underscored = store.write("FA_2026_12", "FA_2026_12:notice", b"%PDF underscored")
    assert slashed != underscored and slashed.read_bytes() == b"%PDF slashed"
    assert underscored.parent.name == "FA_2026_12", "a number a file name can hold is its own folder, as before"
    assert store.write("FA/2026/12", "FA/2026/12:notice", b"%PDF again") == slashed, "a retry overwrites its file"
    assert url_of(str(slashed)) == f"/documents/{folder_of('FA/2026/12')}/notice.pdf", "and the console finds it"
    assert folder_of("..") != ".." and not folder_of(".hidden").startswith(".")
