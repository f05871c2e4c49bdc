"""build.py serve: precompressed files by Accept-Encoding, cache headers by name, MIME types."""

from __future__ import annotations

import gzip
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest

from sitebuild.serve import accepted_encodings, cache_control, make_server

WASM = b"\0asm" + bytes(4000)


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    runtime = tmp_path / "assets" / "pyodide" / "1.0-0123456789"
    runtime.mkdir(parents=True)
    (runtime / "pyodide.asm.wasm").write_bytes(WASM)
    (runtime / "pyodide.asm.wasm.br").write_bytes(brotli.compress(WASM))
    (runtime / "pyodide.asm.wasm.gz").write_bytes(gzip.compress(WASM))
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "index.html").write_text("<!DOCTYPE html><title>x</title>", encoding="utf-8")
    server = make_server(tmp_path, 0, headers={"Content-Security-Policy": "default-src 'none'"})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def get(url: str, **headers: str):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return response.status, response.headers, response.read()


WASM_PATH = "assets/pyodide/1.0-0123456789/pyodide.asm.wasm"


@pytest.mark.parametrize(
    ("accept", "encoding", "decode"),
    [
        ("gzip, deflate, br, zstd", "br", brotli.decompress),
        ("gzip", "gzip", gzip.decompress),
        ("br;q=0, gzip;q=0.5", "gzip", gzip.decompress),
        ("identity", None, bytes),
    ],
)
def test_precompressed_files_follow_accept_encoding(server_url: str, accept: str, encoding, decode) -> None:
    status, headers, body = get(server_url + WASM_PATH, **{"Accept-Encoding": accept})
    assert status == 200
    assert headers.get("Content-Encoding") == encoding
    assert headers["Content-Type"] == "application/wasm"
    assert headers["Vary"] == "Accept-Encoding"
    assert int(headers["Content-Length"]) == len(body)
    assert decode(body) == WASM


def test_hashed_names_are_kept_a_year_and_pages_are_revalidated(server_url: str) -> None:
    assert get(server_url + WASM_PATH)[1]["Cache-Control"] == "public, max-age=31536000, immutable"
    _, headers, _ = get(server_url + "en/")
    assert headers["Cache-Control"] == "no-cache"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Vary" not in headers and "Content-Encoding" not in headers
    assert headers["Content-Security-Policy"] == "default-src 'none'"


def test_a_revalidated_page_costs_a_304(server_url: str) -> None:
    _, headers, _ = get(server_url + "en/")
    request = urllib.request.Request(server_url + "en/", headers={"If-Modified-Since": headers["Last-Modified"]})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request)
    assert answer.value.code == 304


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/assets/pyodide/314.0.7-0a1b2c3d4e/pyodide.asm.wasm", "public, max-age=31536000, immutable"),
        ("/assets/app/pyscript_app-0a1b2c3d4e.zip", "public, max-age=31536000, immutable"),
        ("/assets/matcher.js?v=0a1b2c3d4e", "public, max-age=31536000, immutable"),
        ("/assets/matcher.js", "no-cache"),
        ("/en/match/", "no-cache"),
        ("/assets/demo/sample-archive.zip", "no-cache"),
    ],
)
def test_cache_control_by_name(url: str, expected: str) -> None:
    assert cache_control(url) == expected


def test_accept_encoding_parsing() -> None:
    assert accepted_encodings("gzip, br;q=0.8, zstd;q=0") == {"gzip", "br"}
    assert accepted_encodings("") == set()
