"""Hostile package metadata (issue 11 point 4): GB/T 33480 metadata whose keys are not XML names, whose text the
XML or the database cannot hold, or whose nesting is absurd. read_package refuses it with a PackageError code
(so the exchange quarantines it: 422, never a 500) and build_package never produces it; text with characters
XML 1.0 forbids still gives well-formed metadata.xml. One fuzz test each for read_package and build_package.
"""

# ruff: noqa: F811  (fixtures imported from tests.test_exchange_inbound are parameters here)
from __future__ import annotations

import base64
import io
import json
import zipfile
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from documents.selectors.archive import metadata_xml, sha256_hex, sm3_hex
from integrations.exchange import protocol as P
from integrations.exchange.models import InboundPackage
from integrations.exchange.package import PackageError, canonical, read_package
from oa.models import AuditEntry
from tests.test_exchange_inbound import (  # noqa: F401  (fixtures)
    PEER_AGENCY_KEY,
    make_package,
    node,
    peer,
    receipt_api,
    signed_post,
)
from tests.test_exchange_package import MAX, METADATA, build, key, members, trusted  # noqa: F401  (key)
from tests.test_hostile_json import documented_codes, hostile_text, values

BAD_KEYS = ["1a", "a b", "<x>", "", "xml:foo", "xmlns", "a\x01", "{abc", "a}b", "-x", "a/b", "\ud800", "a\x00"]


def forge(key, metadata_json: bytes, base: bytes | None = None) -> bytes:
    """A package whose metadata.json is ``metadata_json``, correctly signed by ``key``: what a key holder (or a
    buggy peer) can send without going through our build_package. Its metadata.xml is what the receiver would
    derive when it can, so only the metadata itself decides the outcome."""
    content = members(base or build(key))
    content["metadata.json"] = metadata_json
    try:
        loaded = json.loads(metadata_json)
        content["metadata.xml"] = metadata_xml({"核心元数据": {k: loaded[k] for k in METADATA}},
                                               package_format="oa-exchange/1")
    except Exception:
        content["metadata.xml"] = b"<x/>"
    manifest = json.loads(content["manifest.json"])
    for entry in manifest["members"]:
        body = content[entry["path"]]
        entry.update(size=len(body), sha256=sha256_hex(body), sm3=sm3_hex(body))
    content["manifest.json"] = canonical(manifest)
    sig = json.loads(content["signature.json"])
    sig["signature"] = base64.b64encode(key.sign(content["manifest.json"])).decode()
    content["signature.json"] = canonical(sig)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in content.items():
            zf.writestr(name, data)
    return buf.getvalue()


def dumps(metadata) -> bytes:
    return json.dumps(metadata, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8", "surrogatepass")


def read_code(key, data: bytes) -> str:
    with pytest.raises(PackageError) as info:
        read_package(data, max_bytes=MAX, trusted_keys=trusted(key))
    assert info.value.message
    return info.value.code


def with_secrecy_key(name: str) -> dict:
    return {**METADATA, "密级和保密期限": {"密级": "", "保密期限": "", name: "x"}}


@pytest.mark.parametrize("name", BAD_KEYS)
def test_read_refuses_keys_that_are_not_xml_names(key, name):
    code = read_code(key, forge(key, dumps(with_secrecy_key(name))))
    # U+0000 and lone surrogates never get as far as names: the JSON itself is refused
    assert code == ("package_malformed" if name in ("\ud800", "a\x00") else "metadata_invalid")


@pytest.mark.parametrize("name", BAD_KEYS)
def test_build_refuses_keys_that_are_not_xml_names(key, name):
    with pytest.raises(PackageError) as info:
        build(key, metadata=with_secrecy_key(name))
    assert info.value.code == "metadata_invalid" and "名称" in info.value.message


def test_unknown_but_valid_keys_are_kept(key):
    metadata = {**METADATA, "密级和保密期限": {"密级": "秘密", "保密期限": "10年", "备注": "x", "_a.b-1": ["y"]}}
    package = read_package(build(key, metadata=metadata), max_bytes=MAX, trusted_keys=trusted(key))
    assert package.metadata["密级和保密期限"] == metadata["密级和保密期限"]


@pytest.mark.parametrize(("text", "code"), [
    ("标题\x00", "package_malformed"),  # PostgreSQL stores U+0000 in neither text nor jsonb
    ("\ud800标题", "package_malformed"),  # no UTF-8 form at all
])
def test_read_refuses_text_nothing_can_store(key, text, code):
    assert read_code(key, forge(key, dumps({**METADATA, "标题": text}))) == code
    with pytest.raises(PackageError) as info:
        build(key, metadata={**METADATA, "标题": text})
    assert info.value.code == "metadata_invalid"


def test_deep_or_non_standard_metadata_json_is_refused(key):
    deep = dumps(METADATA).replace(b'"\xe9\x99\x84\xe6\xb3\xa8": ""', "\"附注\": ".encode() + b"[" * 100_000)
    assert deep != dumps(METADATA)
    assert read_code(key, forge(key, deep)) == "package_malformed"
    nested = {**METADATA, "附注": [[[[[[[[["太深"]]]]]]]]]}
    assert read_code(key, forge(key, dumps(nested))) == "metadata_invalid"
    with pytest.raises(PackageError) as info:
        build(key, metadata=nested)
    assert info.value.code == "metadata_invalid"
    nan = dumps(METADATA).replace('"份号": "000123"'.encode(), b'"\xe4\xbb\xbd\xe5\x8f\xb7": NaN')
    assert read_code(key, forge(key, nan)) == "package_malformed"


def test_text_xml_forbids_still_gives_well_formed_xml(key):
    title = "关于\x01\x08\x0b\x1f\ufffe\uffff的通知\t\n"
    data = build(key, metadata={**METADATA, "标题": title, "签发人": ["黄\x02建华"]})
    root = ElementTree.fromstring(members(data)["metadata.xml"])  # parses: well-formed
    assert root.find("标题").text == "关于\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd的通知\t\n"
    package = read_package(data, max_bytes=MAX, trusted_keys=trusted(key))
    assert package.metadata["标题"] == title  # the JSON keeps the text as sent; only the XML replaces


def test_archive_metadata_xml_is_well_formed_whatever_the_text():
    core = {"标题": "关于\x01的通知", "签发人": ["张\x1b三"], "密级和保密期限": {"密级": "", "保密期限": "\x7f"}}
    root = ElementTree.fromstring(metadata_xml({"核心元数据": core}))
    assert root.find("标题").text == "关于\ufffd的通知"


@pytest.mark.django_db
def test_bad_metadata_is_quarantined_over_http(client, peer, receipt_api):
    for metadata, code in ((with_secrecy_key("{abc"), "metadata_invalid"), ({**METADATA, "标题": "a\x00"},
                                                                           "package_malformed")):
        response = signed_post(client, P.PACKAGES, forge(PEER_AGENCY_KEY, dumps(metadata), make_package()))
        assert response.status_code == 422, response.content[:300]
        assert response.json()["code"] == code and response.json()["status"] == "quarantined"
        assert InboundPackage.objects.filter(code=code, status=InboundPackage.Status.QUARANTINED).exists()
        assert AuditEntry.objects.filter(action="exchange.quarantined", changes__code=code).exists()
    assert signed_post(client, P.PACKAGES, make_package()).status_code == 200  # and the node still takes good ones


# ---- fuzz ------------------------------------------------------------------------------------------------

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
names = st.one_of(st.sampled_from(BAD_KEYS), st.text(max_size=10))
odd_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=20)
field_values = st.one_of(values, odd_text, st.dictionaries(names, values | odd_text, max_size=3),
                         st.lists(odd_text, max_size=3))
hostile_metadata = st.fixed_dictionaries({}, optional={k: field_values for k in METADATA}).map(
    lambda over: {**METADATA, **over})


@FUZZ
@given(metadata=hostile_metadata)
@example(metadata={**METADATA, "公文标识": {"ϴ": ""}})  # an XML 1.0 5th-edition name that expat refuses (found by this test)
def test_fuzz_build_package(key, metadata):
    try:
        data = build(key, metadata=metadata)
    except PackageError as exc:
        assert exc.code == "metadata_invalid" and exc.message
        return
    ElementTree.fromstring(members(data)["metadata.xml"])  # well-formed
    package = read_package(data, max_bytes=MAX, trusted_keys=trusted(key))  # what we build, we read back
    assert package.metadata == json.loads(json.dumps(metadata))


@FUZZ
@given(body=st.one_of(hostile_metadata.map(dumps), hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
                      st.binary(max_size=100)))
def test_fuzz_read_package(key, body):
    try:
        read_package(forge(key, body), max_bytes=MAX, trusted_keys=trusted(key))
    except PackageError as exc:
        assert exc.code in documented_codes("exchange.md") and exc.message, exc.code
