"""Every remaining error of io.studies, each pinned to its message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from neurodecode.exceptions import DataFormatError, DataNotFoundError
from neurodecode.io.studies import fetch
from neurodecode.io.studies.download import _safe_name, read_text
from neurodecode.io.studies.hosts import md5sums_files, openneuro_files, osf_files


def test_unsafe_served_name():
    assert _safe_name("../../etc/S01.mat") == "S01.mat"
    with pytest.raises(DataFormatError, match="empty or unsafe name"):
        _safe_name("..")


def test_listing_unreachable(server):
    with pytest.raises(DataNotFoundError, match="could not read the listing .*404"):
        read_text(f"{server.url}/missing.json")


def test_listing_not_json_or_xml():
    with pytest.raises(DataFormatError, match="is not JSON"):
        osf_files("abcde", base="http://127.0.0.1:9", read=lambda url: "<html>")
    with pytest.raises(DataFormatError, match="is not S3 XML"):
        openneuro_files("ds000001", base="http://127.0.0.1:9", read=lambda url: "{]")


def test_osf_entry_without_attributes():
    page = '{"data": [{"links": {}}], "links": {"next": null}}'
    with pytest.raises(DataFormatError, match="has an entry without 'attributes'"):
        osf_files("abcde", base="http://127.0.0.1:9", read=lambda url: page)


def test_osf_md5_fallback_and_no_hash():
    page = ('{"data": ['
            '{"attributes": {"kind": "file", "materialized_path": "/a.txt", "size": 1,'
            ' "extra": {"hashes": {"md5": "' + "a" * 32 + '"}}}, "links": {"download": "u1"}},'
            '{"attributes": {"kind": "file", "materialized_path": "/b.txt"},'
            ' "links": {"download": "u2"}}], "links": {}}')
    files = osf_files("abcde", base="http://127.0.0.1:9", read=lambda url: page)
    assert [f.hash for f in files] == ["md5:" + "a" * 32, None]


def test_md5sums_missing_entry_warns(caplog):
    with caplog.at_level("WARNING", logger="neurodecode"):
        files = md5sums_files("http://127.0.0.1:9", ["x.tar.gz"], read=lambda url: "")
    assert files[0].hash is None and files[0].extract
    assert "x.tar.gz is not listed" in caplog.text


def test_fetch_empty_listing(server, tmp_path):
    for node in ("ag3kj", "h2tzn", "u5327"):
        (server.folder / "osf" / node).mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match="the host lists no file"):
        fetch("gwilliams2022", tmp_path, url_override=server.url + "/v2", progress=False)


def test_brennan_not_fieldtrip(tmp_path):
    from neurodecode.io.studies.brennan2019 import read_fieldtrip_raw

    savemat(tmp_path / "S01.mat", {"data": np.zeros(3)})
    with pytest.raises(DataFormatError, match="has no 'raw' struct"):
        read_fieldtrip_raw(tmp_path / "S01.mat")


def test_broderick_bad_run(tmp_path):
    from neurodecode.io.studies.broderick2019 import read_run

    savemat(tmp_path / "r.mat", {"eeg": np.zeros((3, 3))})
    with pytest.raises(DataFormatError, match="lacks 'eegData'; expected eegData and fs"):
        read_run(tmp_path / "r.mat")


def test_nsd_bad_responses(tmp_path):
    from neurodecode.io.studies.nsd import trial_events

    with pytest.raises(DataFormatError, match="expected SESSION and 73KID"):
        trial_events(pd.DataFrame({"SESSION": [1]}), [1], tmp_path)
