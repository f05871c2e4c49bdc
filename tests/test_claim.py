"""The opt-in claim (issue 8) in the person's own repository, on the real PDS: published with the X
id from the archive as its record key, read back, replaced, withdrawn."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pyscript_app.follow.atproto_session import app_password_session
from pyscript_app.follow.claim import ClaimStore, claim_record, shown
from pyscript_app.notices import ArchiveError
from tests.follow_helpers import run
from tests.pds_server import PdsServer

COLLECTION = "org.passerelle.x.claim"


def test_a_claim_is_published_read_replaced_and_withdrawn(pds: PdsServer) -> None:
    me = pds.create_account("claimer")
    store = ClaimStore(run(app_password_session(pds.url, me.handle, me.password)), me.did, COLLECTION)
    assert run(store.read("1234567890123456789")) is None
    record = claim_record(COLLECTION, "1234567890123456789", "claimer_x", "@Claimer@Social.FakeNet.org",
                          datetime(2026, 12, 2, tzinfo=UTC))
    run(store.publish(record))
    listed = pds.xrpc("com.atproto.repo.listRecords", f"repo={me.did}&collection={COLLECTION}")["records"]
    assert [r["uri"].rsplit("/", 1)[1] for r in listed] == ["1234567890123456789"]
    assert listed[0]["value"] == {"$type": COLLECTION, "xId": "1234567890123456789", "xHandle": "claimer_x",
                                  "mastodon": "claimer@social.fakenet.org", "createdAt": "2026-12-02T00:00:00+00:00"}
    assert shown(run(store.read("1234567890123456789")))["mastodon"] == "claimer@social.fakenet.org"
    run(store.publish(claim_record(COLLECTION, "1234567890123456789", "claimer_x")))  # again: replaced, one record
    listed = pds.xrpc("com.atproto.repo.listRecords", f"repo={me.did}&collection={COLLECTION}")["records"]
    assert len(listed) == 1 and "mastodon" not in listed[0]["value"]
    run(store.withdraw("1234567890123456789"))
    assert run(store.read("1234567890123456789")) is None
    assert pds.xrpc("com.atproto.repo.listRecords", f"repo={me.did}&collection={COLLECTION}")["records"] == []


@pytest.mark.parametrize(("x_id", "mastodon"), [("", ""), ("01", ""), ("12", "not an address")])
def test_a_claim_says_only_what_is_valid(x_id: str, mastodon: str) -> None:
    with pytest.raises(ArchiveError):
        claim_record(COLLECTION, x_id, "someone", mastodon)


def test_a_claim_leaves_out_a_handle_that_is_not_an_x_username() -> None:
    assert "xHandle" not in claim_record(COLLECTION, "12", "not a handle!")


def test_the_store_refuses_a_bad_collection_or_did() -> None:
    with pytest.raises(ArchiveError):
        ClaimStore(object(), "did:plc:" + "a" * 24, "not an nsid")  # type: ignore[arg-type]
    with pytest.raises(ArchiveError):
        ClaimStore(object(), "alice", COLLECTION)  # type: ignore[arg-type]


def test_the_mastodon_post_is_written_and_read_back_the_same_way() -> None:
    from pyscript_app.follow.claim import MASTODON_CLAIM_POST, mastodon_claim_post

    text = mastodon_claim_post("1234567890123456789", "ann_x")
    assert text == "I moved from X: https://x.com/ann_x (X id 1234567890123456789) #PasserelleMoved"
    found = MASTODON_CLAIM_POST.search(f"<p>Hello! {text}</p>")
    assert found and found.groupdict() == {"handle": "ann_x", "x_id": "1234567890123456789"}
    assert mastodon_claim_post("", "ann_x") == mastodon_claim_post("12", "not a handle!") == ""
