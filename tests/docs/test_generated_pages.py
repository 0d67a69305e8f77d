"""Pages generated from the code match it: the safety case's state diagram, the protocol's message table."""

from pathlib import Path

from laserdose.device.states import mermaid_diagram

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_safety_case_diagram_matches_the_table():
    text = (DOCS / "safety-case.md").read_text(encoding="utf-8")
    assert "```mermaid\n" + mermaid_diagram() + "\n```" in text


def test_protocol_doc_lists_every_message_type():
    from laserdose.device.protocol import Msg

    text = (DOCS / "device-protocol.md").read_text(encoding="utf-8")
    for msg in Msg:
        assert f"| 0x{int(msg):02X} | {msg.name} |" in text, msg.name
