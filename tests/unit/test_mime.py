"""The bytes of an email, read back with the standard library's parser: what any mail client will see."""
import email
import email.policy
from email.header import decode_header, make_header

from hypothesis import given, settings
from hypothesis import strategies as st

from activities.mime import address, email_bytes

KEY = "FA-2026-0042:reminder:amicable-j+2"


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def a_message(subject="Facture n° FA-1 : échéance le 24/12/2026", text="Bonjour,\n", html="<p>Bonjour,</p>\n",
              sender=address("Service recouvrement", "relance@fournisseur.example"), to="ap@client.example"):
    return email_bytes(sender=sender, to=to, subject=subject, message_id="<abc@relance>", key=KEY, text=text, html=html)


def test_a_reminder_reads_back_as_text_with_an_html_alternative():
    message = parsed(a_message())
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Facture n° FA-1 : échéance le 24/12/2026"
    assert message["From"].addresses[0].display_name == "Service recouvrement"
    assert message["From"].addresses[0].addr_spec == "relance@fournisseur.example"
    assert message["To"] == "ap@client.example" and message["Message-ID"] == "<abc@relance>"
    assert message["X-Relance-Key"] == KEY and message["Date"]
    assert message.get_body(("plain",)).get_content() == "Bonjour,\n"
    assert message.get_body(("html",)).get_content() == "<p>Bonjour,</p>\n"
    assert not message.defects


def test_a_sender_name_with_accents_is_encoded_and_decoded_back():
    message = parsed(a_message(sender=address("Société Générale d'Équipement", "compta@sge.example")))
    assert message["From"].addresses[0].display_name == "Société Générale d'Équipement"


def test_a_line_break_in_a_subject_cannot_add_a_header():
    raw = a_message(subject="Relance\r\nBcc: everyone@example.com")
    assert parsed(raw)["Bcc"] is None
    assert subject_of(raw) == "Relance\r\nBcc: everyone@example.com"


@given(subject=st.text(min_size=1, max_size=300), text=st.text(max_size=3000), html=st.text(max_size=3000))
def test_any_subject_and_bodies_come_back_exactly(subject, text, html):
    raw = a_message(subject=subject, text=text, html=html)
    message = parsed(raw)
    assert subject_of(raw) == subject
    assert message.get_body(("plain",)).get_payload(decode=True).decode("utf-8") == text
    assert message.get_body(("html",)).get_payload(decode=True).decode("utf-8") == html
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")), "RFC 5322 line length"


def subject_of(raw: bytes) -> str:
    """The subject exactly as encoded (the modern policy would also unfold and normalise whitespace)."""
    header = email.message_from_bytes(raw, policy=email.policy.compat32)["Subject"]
    return str(make_header(decode_header(header)))


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=2000), name=st.sampled_from(["mise_en_demeure-FA-1.pdf", "relevé-n°1.pdf"]))
def test_a_letter_attached_as_pdf_comes_back_with_its_name_beside_both_bodies(data, name):
    raw = email_bytes(sender="relance@fournisseur.example", to="ap@client.example", subject="Mise en demeure",
                      message_id="<abc@relance>", key=KEY, text="Bonjour,\n", html="<p>Bonjour,</p>\n",
                      attachments=((name, "application/pdf", data),))
    message = parsed(raw)
    assert message.get_content_type() == "multipart/mixed" and not message.defects
    assert message.get_body(("plain",)).get_content() == "Bonjour,\n"
    assert message.get_body(("html",)).get_content() == "<p>Bonjour,</p>\n"
    [attached] = list(message.iter_attachments())
    assert attached.get_content_type() == "application/pdf" and attached.get_filename() == name
    assert attached.get_payload(decode=True) == data
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
