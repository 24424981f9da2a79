"""File listings of the data hosts: plain HTTP with an MD5SUMS manifest, OSF, OpenNeuro.

Each function returns :class:`RemoteFile` entries with the checksums the host publishes:

- ``md5sums_files``: a ``MD5SUMS`` manifest (``"<md5>  <name>"`` lines) is downloaded first
  (PyMVPA's data server: Haxby 2001).
- ``osf_files``: the OSF API v2 listing of a project's storage, recursively; OSF publishes
  a SHA-256 and an MD5 for every file (MEG-MASC, THINGS-EEG2).
- ``openneuro_files``: the public S3 bucket of OpenNeuro (``ListObjectsV2``, paginated);
  the ETag is the MD5 of single-part uploads, and multi-part uploads (ETag with a ``-``)
  carry no usable checksum: they are kept unverified with a logged warning (THINGS-MEG).

``base`` is the address of the host's API or bucket; a mirror replaces it and must answer
the same requests (the tests serve all three protocols from a folder on 127.0.0.1).
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable

from ...exceptions import DataFormatError
from .download import RemoteFile, read_text

logger = logging.getLogger("neurodecode")

OSF_API = "https://api.osf.io/v2"
OPENNEURO_S3 = "https://s3.amazonaws.com/openneuro.org"

Reader = Callable[[str], str]


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + urllib.parse.quote(path.lstrip("/"))


def static_files(base: str, entries: list[tuple[str, str | None, int | None]], *,
                 extract: bool = False) -> list[RemoteFile]:
    """Files at ``base/<path>`` with checksums known in advance.

    Parameters
    ----------
    base : str
        Base URL (a mirror replaces it).
    entries : list of (path, hash, size)
        Relative path (also the local path), ``"algo:hex"`` or None, size or None.
    extract : bool
        Whether the archives among them are unpacked after download.
    """
    return [
        RemoteFile(path, _join(base, path), hash_, size, extract and _is_archive(path))
        for path, hash_, size in entries
    ]


def _is_archive(path: str) -> bool:
    from .archive import is_archive

    return is_archive(path)


def parse_md5sums(text: str) -> dict[str, str]:
    """Parse ``"<md5>  <name>"`` lines into ``{name: md5}``.

    Raises
    ------
    DataFormatError
        A non-empty line does not hold a 32-digit hex digest and a name.
    """
    sums = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")
        if len(digest) != 32 or not name or any(c not in "0123456789abcdefABCDEF" for c in digest):
            raise DataFormatError(
                f"MD5SUMS line {number} is {line!r}; expected '<32 hex digits>  <file name>'."
            )
        sums[name] = digest.lower()
    return sums


def md5sums_files(base: str, names: list[str], *, read: Reader = read_text,
                  manifest: str = "MD5SUMS") -> list[RemoteFile]:
    """Files ``base/<name>`` whose MD5 comes from the ``base/MD5SUMS`` manifest.

    A name missing from the manifest is fetched unverified (warning logged).
    """
    sums = parse_md5sums(read(_join(base, manifest)))
    files = []
    for name in names:
        digest = sums.get(name)
        if digest is None:
            logger.warning("%s is not listed in %s/%s", name, base, manifest)
        files.append(RemoteFile(name, _join(base, name), f"md5:{digest}" if digest else None,
                                None, _is_archive(name)))
    return files


def osf_files(node: str, *, base: str = OSF_API, read: Reader = read_text,
              prefix: str = "") -> list[RemoteFile]:
    """Every file of an OSF project's ``osfstorage``, with OSF's SHA-256 (or MD5).

    Parameters
    ----------
    node : str
        The OSF project or component id (``"ag3kj"``).
    base : str
        API root (``https://api.osf.io/v2``), or a mirror answering the same JSON.
    prefix : str
        Local folder the files go into, relative to the study folder.
    """
    files: list[RemoteFile] = []
    pending = [_join(base, f"nodes/{node}/files/osfstorage/")]
    while pending:
        url: str | None = pending.pop()
        while url:
            page = _json(read(url), url)
            for item in page.get("data", []):
                _osf_item(item, files, pending, prefix, url)
            url = (page.get("links") or {}).get("next")
    return files


def _json(text: str, url: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataFormatError(f"the listing {url} is not JSON ({err}).") from err


def _osf_item(item: dict, files: list, pending: list, prefix: str, url: str) -> None:
    try:
        attributes = item["attributes"]
        if attributes["kind"] == "folder":
            pending.append(item["relationships"]["files"]["links"]["related"]["href"])
            return
        hashes = (attributes.get("extra") or {}).get("hashes") or {}
        path = prefix + attributes["materialized_path"].lstrip("/")
        download_url = item["links"]["download"]
    except (KeyError, TypeError) as err:
        raise DataFormatError(
            f"the OSF listing {url} has an entry without {err}; expected OSF API v2 JSON."
        ) from err
    if hashes.get("sha256"):
        hash_ = f"sha256:{hashes['sha256']}"
    elif hashes.get("md5"):
        hash_ = f"md5:{hashes['md5']}"
    else:
        hash_ = None
    files.append(RemoteFile(path, download_url, hash_, attributes.get("size"),
                            _is_archive(path)))


def openneuro_files(dataset: str, *, base: str = OPENNEURO_S3, read: Reader = read_text
                    ) -> list[RemoteFile]:
    """Every file of an OpenNeuro dataset from its public S3 bucket (latest snapshot).

    Parameters
    ----------
    dataset : str
        Accession number (``"ds004212"``).
    base : str
        Bucket URL, or a mirror answering ``?list-type=2&prefix=...`` with S3 XML.
    """
    files: list[RemoteFile] = []
    token = None
    while True:
        query = {"list-type": "2", "prefix": f"{dataset}/"}
        if token:
            query["continuation-token"] = token
        url = base.rstrip("/") + "/?" + urllib.parse.urlencode(query)
        tree = _xml(read(url), url)
        for content in tree.iter("Contents"):
            files.append(_s3_item(content, dataset, base))
        if tree.findtext("IsTruncated", "false").lower() != "true":
            return files
        token = tree.findtext("NextContinuationToken")


def _xml(text: str, url: str) -> ET.Element:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise DataFormatError(f"the listing {url} is not S3 XML ({err}).") from err
    for element in root.iter():  # drop the S3 namespace
        element.tag = element.tag.rpartition("}")[2]
    return root


def _s3_item(content: ET.Element, dataset: str, base: str) -> RemoteFile:
    key = content.findtext("Key", "")
    etag = content.findtext("ETag", "").strip('"')
    size = content.findtext("Size")
    hash_ = f"md5:{etag}" if len(etag) == 32 and "-" not in etag else None
    return RemoteFile(key[len(dataset) + 1:], _join(base, key), hash_,
                      int(size) if size else None, False)


__all__ = ["OPENNEURO_S3", "OSF_API", "md5sums_files", "openneuro_files", "osf_files",
           "parse_md5sums", "static_files"]
