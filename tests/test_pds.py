"""The real atproto PDS of tests/pds/ works offline: accounts, handles, PLC, follows, OAuth discovery."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.pds_server import HANDLE_DOMAIN, PDS_SOURCE, PdsServer, XrpcError, start_pds


def follow_create(subject: str) -> dict:
    record = {"$type": "app.bsky.graph.follow", "subject": subject, "createdAt": datetime.now(UTC).isoformat()}
    return {"$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.graph.follow", "value": record}


def apply_follows(pds: PdsServer, repo: str, token: str, subjects: list[str]) -> dict:
    return pds.xrpc(
        "com.atproto.repo.applyWrites", body={"repo": repo, "writes": [follow_create(s) for s in subjects]}, token=token
    )


def test_accounts_get_a_plc_did_and_a_resolvable_handle(pds: PdsServer) -> None:
    did, handle, password, token = pds.create_account("alice")
    assert did.startswith("did:plc:") and handle == f"alice{HANDLE_DOMAIN}"
    assert password and token
    assert pds.xrpc("com.atproto.identity.resolveHandle", f"handle={handle}") == {"did": did}
    session = pds.xrpc("com.atproto.server.getSession", token=token)
    assert (session["did"], session["handle"]) == (did, handle)


def test_the_plc_directory_serves_the_did_document(pds: PdsServer) -> None:
    did, handle, _, _ = pds.create_account("bruno")
    status, _, document = pds.request(f"/{did}", base=pds.plc_url)
    assert status == 200 and document["id"] == did
    assert f"at://{handle}" in document["alsoKnownAs"]
    endpoints = {s["id"]: s["serviceEndpoint"] for s in document["service"]}
    assert endpoints["#atproto_pds"] == pds.url
    assert pds.request("/did:plc:unknownunknownunknown00", base=pds.plc_url)[0] == 404


def test_reserved_and_foreign_handle_domains_are_refused(pds: PdsServer) -> None:
    for handle in ("carla.test", "carla.elsewhere.example.com"):
        with pytest.raises(XrpcError) as refused:
            pds.create_account(handle)
        assert refused.value.status == 400


def test_follows_are_written_in_batches_of_at_most_200(pds: PdsServer) -> None:
    did, _, _, token = pds.create_account("dora")
    friends = [pds.create_account(name).did for name in ("emil", "fanny")]
    strangers = [f"did:plc:{n:024d}" for n in range(198)]
    answer = apply_follows(pds, did, token, friends + strangers)
    assert len(answer["results"]) == 200
    assert {r["$type"] for r in answer["results"]} == {"com.atproto.repo.applyWrites#createResult"}

    with pytest.raises(XrpcError) as too_many:
        apply_follows(pds, did, token, [f"did:plc:{n:024d}" for n in range(201)])
    assert too_many.value.status == 400 and too_many.value.body["message"] == "Too many writes. Max: 200"

    subjects, cursor = [], ""
    while True:
        page = pds.xrpc(
            "com.atproto.repo.listRecords", f"repo={did}&collection=app.bsky.graph.follow&limit=100{cursor}"
        )
        subjects += [r["value"]["subject"] for r in page["records"]]
        if not page["records"] or "cursor" not in page:
            break
        cursor = f"&cursor={page['cursor']}"
    assert sorted(subjects) == sorted(friends + strangers)  # the refused batch wrote nothing


def test_a_token_cannot_write_into_another_repo(pds: PdsServer) -> None:
    gina, _, _, _ = pds.create_account("gina")
    _, _, _, hugo_token = pds.create_account("hugo")
    with pytest.raises(XrpcError) as refused:
        apply_follows(pds, gina, hugo_token, ["did:plc:" + "0" * 24])
    assert refused.value.status in (400, 401, 403)


def test_oauth_discovery_names_the_dev_issuer_and_par(pds: PdsServer) -> None:
    status, _, resource = pds.request("/.well-known/oauth-protected-resource")
    assert status == 200 and resource["resource"] == pds.url
    assert resource["authorization_servers"] == [pds.url]
    status, _, metadata = pds.request("/.well-known/oauth-authorization-server")
    assert status == 200 and metadata["issuer"] == f"http://localhost:{pds.port}"
    assert metadata["pushed_authorization_request_endpoint"].startswith(pds.url)
    assert metadata["require_pushed_authorization_requests"] is True
    assert "atproto" in metadata["scopes_supported"]
    assert "ES256" in metadata["dpop_signing_alg_values_supported"]


def test_rate_limits_can_be_switched_on(pds: PdsServer, pds_rate_limited: PdsServer) -> None:
    assert not pds.rate_limits and pds_rate_limited.rate_limits
    for server, limited in ((pds, False), (pds_rate_limited, True)):
        did, _, _, token = server.create_account("ivan")
        status, headers, _ = server.request(
            "/xrpc/com.atproto.repo.applyWrites", {"repo": did, "writes": [follow_create("did:plc:" + "1" * 24)]}, token
        )
        assert status == 200
        names = {name.lower() for name in headers}
        assert ("ratelimit-remaining" in names) is limited, headers


def test_a_missing_install_fails_with_the_command_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_PDS_DIR", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match=r"run tests/pds/install\.sh"), start_pds():
        pass


def test_the_lock_pins_every_package_by_integrity_and_names_no_registry() -> None:
    manifest = json.loads((PDS_SOURCE / "package.json").read_text())
    lock = json.loads((PDS_SOURCE / "package-lock.json").read_text())
    assert lock["lockfileVersion"] == 3
    assert all(version[0].isdigit() for version in manifest["dependencies"].values())  # exact pins
    packages = {path: entry for path, entry in lock["packages"].items() if path}
    assert packages and all(entry.get("integrity", "").startswith("sha512-") for entry in packages.values())
    assert not [path for path, entry in packages.items() if "resolved" in entry]
