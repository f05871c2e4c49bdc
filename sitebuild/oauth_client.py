"""Bluesky sign-in: the atproto OAuth browser client, bundled at build time, and its client metadata.

``sitebuild/oauth/`` pins ``@atproto/oauth-client-browser`` and ``esbuild`` (``package.json``, and
``package-lock.json`` with each package's integrity and no registry address). ``npm ci`` installs
them once into the cache, outside the site (``<cache>/oauth-client/<digest of the pins>/``);
esbuild bundles ``entry.mjs`` into one minified ES module, which the site ships under a
content-hashed name in ``assets/app/``. Like Pyodide, it is self-hosted: never a CDN.

The sign-in callback page (``<ll>/signed-in/``) is the OAuth redirect URI for both networks. A
site with an https ``site_url`` publishes ``oauth/client-metadata.json``, its atproto client id;
a site served from loopback uses atproto's loopback development client id instead (``entry.mjs``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .config import Config
from .errors import BuildError
from .runtime import cache_dir

log = logging.getLogger("passerelle.build")

SOURCE = Path(__file__).parent / "oauth"
PINS = ("package.json", "package-lock.json")
ENTRY = "entry.mjs"
CALLBACK_PAGE = "signed-in"
METADATA_PATH = "oauth/client-metadata.json"
# What the pages import from the bundle; the build fails if esbuild's output lacks one of them.
REQUIRED_EXPORTS = (
    "BrowserOAuthClient",
    "LoginContinuedInParentWindowError",
    "OAuthCallbackError",
    "buildLoopbackClientId",
    "callbackUrl",
    "clientIdFor",
    "isLoopbackPage",
    "loadClient",
)
ESBUILD_FLAGS = ("--bundle", "--minify", "--format=esm", "--target=es2020", "--platform=browser", "--log-level=warning")
# Names atproto's oauth-types treat as local (isLocalHostname): never a client id's host.
LOCAL_TOP_LEVEL_DOMAINS = frozenset({"test", "local", "localhost", "invalid", "example"})
FOLLOW_SCOPE = "repo:app.bsky.graph.follow?action=create"
DEFAULT_CLAIM_COLLECTION = "org.passerelle.x.claim"
# atproto's NSID syntax: a reversed domain (at least two segments) and a name of letters and digits.
NSID = re.compile(
    r"(?=.{1,317}$)[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
    r"\.[a-zA-Z][a-zA-Z0-9]{0,62}"
)


@dataclass(frozen=True)
class OAuthBundle:
    """The bundled client: its name in the site, its bytes and the names it exports."""

    name: str
    data: bytes
    exports: tuple[str, ...]


def pins_digest() -> str:
    """Names the install folder: it changes when a pinned version or integrity does."""
    digest = hashlib.sha256()
    for name in PINS:
        digest.update((SOURCE / name).read_bytes())
    return digest.hexdigest()[:16]


def _tool(name: str, purpose: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BuildError(f"{name} is needed to {purpose}: install Node.js and npm (Debian: apt-get install npm)")
    return found


def _run(command: list[str], cwd: Path, what: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = "\n".join((result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-5:])
        raise BuildError(f"{what} failed:\n{detail}")


def installed_client(config: Config) -> Path:
    """The folder where ``npm ci`` installed the pinned packages, installed on first use.

    ``--ignore-scripts``: esbuild's install script only swaps its JavaScript launcher for the
    native binary (a speed-up); the launcher finds the binary in the optional platform package
    that ``npm ci`` installs anyway.
    """
    target = cache_dir(config) / "oauth-client" / pins_digest()
    if (target / ".installed").exists():
        return target
    npm = _tool("npm", "install the atproto OAuth client (once)")
    work = target.with_name(f"{target.name}.{os.getpid()}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in PINS:
        shutil.copyfile(SOURCE / name, work / name)
    log.info("installing the atproto OAuth client into %s", target)
    _run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], work, "npm ci (OAuth client)")
    (work / ".installed").touch()
    try:
        work.rename(target)
    except OSError:  # another build finished the same install first
        shutil.rmtree(work, ignore_errors=True)
        if not (target / ".installed").exists():
            raise BuildError(f"{target}: could not install the OAuth client there") from None
    return target


def bundle_client(config: Config) -> OAuthBundle:
    """Bundle ``entry.mjs`` with esbuild (cached by the entry's and the pins' digests)."""
    folder = installed_client(config)
    entry = (SOURCE / ENTRY).read_bytes()
    key = hashlib.sha256(entry).hexdigest()[:16]
    output, metafile = folder / f"bundle-{key}.mjs", folder / f"bundle-{key}.meta.json"
    if not (output.exists() and metafile.exists()):
        node = _tool("node", "bundle the atproto OAuth client")
        (folder / f"entry-{key}.mjs").write_bytes(entry)
        esbuild = str(folder / "node_modules" / "esbuild" / "bin" / "esbuild")
        partial, partial_meta = f"bundle-{key}.{os.getpid()}.part.mjs", f"bundle-{key}.{os.getpid()}.part.json"
        _run(
            [node, esbuild, f"entry-{key}.mjs", *ESBUILD_FLAGS, f"--outfile={partial}", f"--metafile={partial_meta}"],
            folder,
            "esbuild (OAuth client)",
        )
        (folder / partial_meta).replace(metafile)
        (folder / partial).replace(output)
    data = output.read_bytes()
    exports = _exports(metafile)
    missing = sorted(set(REQUIRED_EXPORTS) - set(exports))
    if missing:
        raise BuildError(f"{SOURCE / ENTRY}: the bundle does not export {', '.join(missing)}")
    return OAuthBundle(f"assets/app/atproto-oauth-{hashlib.sha256(data).hexdigest()[:10]}.mjs", data, exports)


def _exports(metafile: Path) -> tuple[str, ...]:
    """The export names esbuild recorded for its one output."""
    meta = json.loads(metafile.read_text(encoding="utf-8"))
    outputs = [out for name, out in meta.get("outputs", {}).items() if name.endswith(".mjs")]
    if len(outputs) != 1:
        raise BuildError(f"{metafile}: expected one bundled module, found {len(outputs)}")
    return tuple(sorted(outputs[0].get("exports", [])))


def claim_collection(config: Config) -> str:
    """The NSID of the opt-in claim record (issue 8), checked."""
    value = config.extra.get("claim_collection", DEFAULT_CLAIM_COLLECTION)
    if not isinstance(value, str) or not NSID.fullmatch(value):
        raise BuildError(
            f"configuration: 'claim_collection' must be an NSID such as {DEFAULT_CLAIM_COLLECTION!r}, not {value!r}"
        )
    return value


def oauth_scope(config: Config) -> str:
    """The narrowest scopes that work: create follows, and write the claim record."""
    return f"atproto {FOLLOW_SCOPE} repo:{claim_collection(config)}"


def site_base(config: Config) -> str | None:
    """``site_url`` with one trailing slash when it can name an atproto client (https and a host
    name, not an IP address or a local name), else None."""
    url = config.site_url.strip()
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host or "." not in host or host.replace(".", "").isdigit() or ":" in host:
        return None
    if host.rsplit(".", 1)[-1] in LOCAL_TOP_LEVEL_DOMAINS:  # refused by atproto's authorization servers
        return None
    if parts.query or parts.fragment or parts.username or parts.password:
        raise BuildError(f"configuration: 'site_url' must be a plain address, not {url!r}")
    return url.rstrip("/") + "/"


def client_metadata_url(config: Config) -> str:
    """The published client id, or "" when the site has no usable ``site_url`` (said once)."""
    base = site_base(config)
    if base is None and config.site_url.strip():
        log.warning("site_url %r is not https with a domain name: Bluesky sign-in on loopback only", config.site_url)
    return base + METADATA_PATH if base else ""


def client_metadata(config: Config, callback_paths: list[str]) -> dict[str, object] | None:
    """The atproto client metadata document (a public browser client), or None without site_url.

    ``callback_paths`` are every language's callback page, relative to the site's root.
    """
    base = site_base(config)
    if base is None:
        return None
    return {
        "client_id": base + METADATA_PATH,
        "client_name": config.site_name or "Passerelle",
        "client_uri": base,
        "redirect_uris": [base + path for path in callback_paths],
        "scope": oauth_scope(config),
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "web",
        "dpop_bound_access_tokens": True,
    }
