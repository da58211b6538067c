"""WXBizMsgCrypt against the official vectors of DOMAIN.md §4.4, its negative cases, and the callback view."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
import time_machine

from integrations.wecom import crypto
from integrations.wecom.crypto import WecomCryptoError, WXBizMsgCrypt, signature
from integrations.wecom.models import CallbackMessage

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wx5823bf96d3bd56c7"

B1_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
B1_TIMESTAMP = "1409659589"
B1_NONCE = "263014780"
B1_ECHOSTR_URL = (
    "P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D"
)
B1_ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="

B2_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
B2_TIMESTAMP = "1409659813"
B2_NONCE = "1372623149"
B2_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJ"
    "Ts3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc"
    "2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9E"
    "L4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0l"
    "XdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
B2_PLAINTEXT = "\n".join([
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>",
    "<FromUserName><![CDATA[mycreate]]></FromUserName>",
    "<CreateTime>1409659813</CreateTime>",
    "<MsgType><![CDATA[text]]></MsgType>",
    "<Content><![CDATA[hello]]></Content>",
    "<MsgId>4561255354251345929</MsgId>",
    "<AgentID>218</AgentID>",
    "</xml>",
])


def body(encrypt: str) -> str:
    return f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"


@pytest.fixture
def wx() -> WXBizMsgCrypt:
    return WXBizMsgCrypt(TOKEN, AES_KEY, CORP_ID)


def error_code(call) -> int:
    with pytest.raises(WecomCryptoError) as info:
        call()
    return info.value.code


# --- official vectors ------------------------------------------------------------------------------------


def test_key_and_iv_from_encoding_aes_key(wx):
    assert wx.key.hex() == "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760"
    assert wx.iv.hex() == "8d69989bbaabe67328014c194631ad07"


def test_b1_verify_url(wx):
    assert signature(TOKEN, B1_TIMESTAMP, B1_NONCE, B1_ECHOSTR) == B1_SIGNATURE
    assert wx.verify_url(B1_SIGNATURE, B1_TIMESTAMP, B1_NONCE, B1_ECHOSTR) == "1616140317555161061"


def test_b2_decrypt_message(wx):
    assert wx.decrypt_msg(body(B2_ENCRYPT), B2_SIGNATURE, B2_TIMESTAMP, B2_NONCE) == B2_PLAINTEXT


def test_b2_encrypt_is_reproduced_byte_for_byte_with_the_vector_random():
    wx = WXBizMsgCrypt(TOKEN, AES_KEY, CORP_ID, random_bytes=lambda: b"0960688932c47ef1")
    assert wx.encrypt(B2_PLAINTEXT) == B2_ENCRYPT


@pytest.mark.parametrize("text", ["", "a", "x" * 12, "办文办会办事" * 50, "y" * 4000])
def test_encrypt_reply_round_trip(wx, text):
    reply = wx.encrypt_msg(text, nonce="12345", timestamp="1700000000")
    fields = crypto.parse_xml(reply)
    assert fields["MsgSignature"] == signature(TOKEN, "1700000000", "12345", fields["Encrypt"])
    assert len(base64.b64decode(fields["Encrypt"])) % 32 == 0  # PKCS#7 to 32, a full block when aligned
    assert wx.decrypt_msg(reply, fields["MsgSignature"], "1700000000", "12345") == text


# --- negative cases (DOMAIN.md §4.4) ------------------------------------------------------------------------


def test_flipped_signature_is_40001(wx):
    flipped = ("0" if B1_SIGNATURE[0] != "0" else "1") + B1_SIGNATURE[1:]
    assert error_code(lambda: wx.verify_url(flipped, B1_TIMESTAMP, B1_NONCE, B1_ECHOSTR)) == -40001
    bad_b2 = B2_SIGNATURE[:-1] + ("0" if B2_SIGNATURE[-1] != "0" else "1")
    assert error_code(lambda: wx.decrypt_msg(body(B2_ENCRYPT), bad_b2, B2_TIMESTAMP, B2_NONCE)) == -40001


def test_wrong_receiveid_is_40005():
    other = WXBizMsgCrypt(TOKEN, AES_KEY, "wwanothercorp")
    assert error_code(lambda: other.verify_url(B1_SIGNATURE, B1_TIMESTAMP, B1_NONCE, B1_ECHOSTR)) == -40005
    assert error_code(lambda: other.decrypt_msg(body(B2_ENCRYPT), B2_SIGNATURE, B2_TIMESTAMP, B2_NONCE)) == -40005


@pytest.mark.parametrize("key", [AES_KEY[:-1], AES_KEY + "A", "", "!" * 43])
def test_bad_key_is_40004(key):
    assert error_code(lambda: WXBizMsgCrypt(TOKEN, key, CORP_ID)) == -40004


def test_truncated_base64_is_40010_or_40007(wx):
    broken_padding = B2_ENCRYPT[:-3]  # no longer a whole base64 quantum
    assert error_code(lambda: wx.decrypt(broken_padding)) == -40010
    whole_quanta = B2_ENCRYPT[:-8]  # decodes, but the ciphertext is no longer whole AES blocks
    assert error_code(lambda: wx.decrypt(whole_quanta)) == -40007
    # Through the full message path, with a signature that matches the truncated text (else -40001 first).
    sig = signature(TOKEN, B2_TIMESTAMP, B2_NONCE, broken_padding)
    assert error_code(lambda: wx.decrypt_msg(body(broken_padding), sig, B2_TIMESTAMP, B2_NONCE)) == -40010


def test_xml_with_a_dtd_or_garbage_is_40002(wx):
    assert error_code(lambda: wx.decrypt_msg("<xml><Encrypt>", "x", "1", "2")) == -40002
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    assert error_code(lambda: wx.decrypt_msg(bomb, "x", "1", "2")) == -40002
    assert error_code(lambda: wx.decrypt_msg("<xml><ToUserName>x</ToUserName></xml>", "x", "1", "2")) == -40002


# --- the callback endpoint ------------------------------------------------------------------------------------

URL = "/integrations/wecom/callback/"


# The vectors are signed at 2014-09-02 (B1_TIMESTAMP, B2_TIMESTAMP); the callback refuses timestamps more than
# OA_WECOM_TIMESTAMP_WINDOW (300 s) from our clock, so these tests run on a clock set between the two.
VECTOR_NOW = 1409659700


@pytest.fixture
def vector_settings(wecom, settings):
    settings.OA_WECOM_CORP_ID = CORP_ID  # the vectors were made for this corpid
    settings.OA_WECOM_TOKEN = TOKEN
    settings.OA_WECOM_AES_KEY = AES_KEY
    with time_machine.travel(VECTOR_NOW, tick=True):
        yield


def _query(sig: str, timestamp: str, nonce: str) -> str:
    return f"msg_signature={sig}&timestamp={timestamp}&nonce={nonce}"


@pytest.mark.django_db
def test_callback_get_answers_the_plaintext_echostr_only(client, vector_settings):
    response = client.get(f"{URL}?{_query(B1_SIGNATURE, B1_TIMESTAMP, B1_NONCE)}&echostr={B1_ECHOSTR_URL}")
    assert response.status_code == 200
    assert response.content == b"1616140317555161061"


@pytest.mark.django_db
def test_callback_post_is_decrypted_recorded_once_and_answered_encrypted(client, vector_settings, cast):
    lina = cast.lina
    lina.platform_userid = "mycreate"
    lina.save(update_fields=["platform_userid"])
    url = f"{URL}?{_query(B2_SIGNATURE, B2_TIMESTAMP, B2_NONCE)}"
    response = client.post(url, body(B2_ENCRYPT), content_type="text/xml")
    assert response.status_code == 200
    message = CallbackMessage.objects.get()
    assert (message.from_user, message.person, message.msg_type, message.content, message.dedupe_key) == (
        "mycreate", lina, "text", "hello", "4561255354251345929",
    )
    reply = crypto.parse_xml(response.content)
    wx = WXBizMsgCrypt(TOKEN, AES_KEY, CORP_ID)
    inner = crypto.parse_xml(wx.decrypt_msg(response.content, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"]))
    assert inner["ToUserName"] == "mycreate" and inner["MsgType"] == "text" and "已收到" in inner["Content"]
    # The platform retries when it thinks we were slow: the same MsgId is not recorded twice.
    assert client.post(url, body(B2_ENCRYPT), content_type="text/xml").status_code == 200
    assert CallbackMessage.objects.count() == 1


@pytest.mark.django_db
def test_callback_event_is_acknowledged_without_a_reply(client, vector_settings):
    wx = WXBizMsgCrypt(TOKEN, AES_KEY, CORP_ID)
    event = (
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[lina01]]></FromUserName>"
        f"<CreateTime>{VECTOR_NOW}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event>"
        "<EventKey><![CDATA[]]></EventKey><AgentID>1000002</AgentID></xml>"
    )
    encrypt = wx.encrypt(event)
    sig = signature(TOKEN, str(VECTOR_NOW), "42", encrypt)
    response = client.post(f"{URL}?{_query(sig, str(VECTOR_NOW), '42')}", body(encrypt), content_type="text/xml")
    assert response.status_code == 200 and response.content == b"success"
    assert CallbackMessage.objects.get().event == "enter_agent"


def _truncated_post() -> tuple[str, str]:
    broken = B2_ENCRYPT[:-3]
    return _query(signature(TOKEN, B2_TIMESTAMP, B2_NONCE, broken), B2_TIMESTAMP, B2_NONCE), body(broken)


MALFORMED = {
    "bad_signature": (lambda: (_query("0" * 40, B2_TIMESTAMP, B2_NONCE), body(B2_ENCRYPT)), -40001),
    "truncated_base64": (_truncated_post, -40010),
    "not_xml": (lambda: (_query(B2_SIGNATURE, B2_TIMESTAMP, B2_NONCE), "not xml at all"), -40002),
    "no_encrypt": (lambda: (_query(B2_SIGNATURE, B2_TIMESTAMP, B2_NONCE), "<xml><A>1</A></xml>"), -40002),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_callback_is_400_with_the_code_and_nothing_is_processed(client, vector_settings, case):
    build, code = MALFORMED[case]
    query, payload = build()
    response = client.post(f"{URL}?{query}", payload, content_type="text/xml")
    assert response.status_code == 400
    assert response.json()["errcode"] == code and response.json()["code"] == crypto.ERROR_NAMES[code][0]
    assert CallbackMessage.objects.count() == 0


@pytest.mark.django_db
def test_callback_for_another_corp_is_40005_and_nothing_is_processed(client, vector_settings, settings):
    settings.OA_WECOM_CORP_ID = "wwanothercorp"
    response = client.post(f"{URL}?{_query(B2_SIGNATURE, B2_TIMESTAMP, B2_NONCE)}", body(B2_ENCRYPT),
                           content_type="text/xml")
    assert response.status_code == 400 and response.json()["errcode"] == -40005
    assert CallbackMessage.objects.count() == 0


@pytest.mark.django_db
def test_callback_get_with_a_bad_signature_or_bad_key_is_400(client, vector_settings, settings):
    response = client.get(f"{URL}?{_query('f' * 40, B1_TIMESTAMP, B1_NONCE)}&echostr={quote(B1_ECHOSTR)}")
    assert response.status_code == 400 and response.json()["errcode"] == -40001
    settings.OA_WECOM_AES_KEY = AES_KEY[:40]
    response = client.get(f"{URL}?{_query(B1_SIGNATURE, B1_TIMESTAMP, B1_NONCE)}&echostr={B1_ECHOSTR_URL}")
    assert response.status_code == 400 and response.json()["errcode"] == -40004


@pytest.mark.django_db
def test_callback_is_404_when_the_adapter_is_off(client, settings):
    settings.OA_WECOM_CORP_ID = ""
    assert client.get(f"{URL}?{_query(B1_SIGNATURE, B1_TIMESTAMP, B1_NONCE)}&echostr=x").status_code == 404


# --- freshness: timestamp window and nonce replay ------------------------------------------------------------


def _signed_event(timestamp: str, nonce: str, user: str = "lina01") -> tuple[str, str]:
    wx = WXBizMsgCrypt(TOKEN, AES_KEY, CORP_ID)
    event = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[enter_agent]]></Event><EventKey><![CDATA[]]></EventKey><AgentID>1000002</AgentID></xml>"
    )
    encrypt = wx.encrypt(event)
    return f"{URL}?{_query(signature(TOKEN, timestamp, nonce, encrypt), timestamp, nonce)}", body(encrypt)


def _refused(response, code: int) -> None:
    assert response.status_code == 400
    assert response.json()["errcode"] == code and response.json()["code"] == crypto.ERROR_NAMES[code][0]


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [-301, 301, -3600 * 24 * 365])
def test_a_callback_outside_the_timestamp_window_is_refused_unprocessed(client, vector_settings, offset):
    timestamp = str(VECTOR_NOW + offset)  # correctly signed: only the clock says no
    url, payload = _signed_event(timestamp, "7")
    _refused(client.post(url, payload, content_type="text/xml"), crypto.TIMESTAMP_ERROR)
    assert CallbackMessage.objects.count() == 0
    wx = WXBizMsgCrypt(TOKEN, AES_KEY, CORP_ID)
    echostr = wx.encrypt("1616140317555161061")
    query = _query(signature(TOKEN, timestamp, "8", echostr), timestamp, "8")
    _refused(client.get(f"{URL}?{query}&echostr={quote(echostr)}"), crypto.TIMESTAMP_ERROR)


@pytest.mark.django_db
def test_the_window_is_a_setting_and_the_message_says_what_is_wrong(client, vector_settings, settings):
    url, payload = _signed_event(str(VECTOR_NOW - 120), "9")
    settings.OA_WECOM_TIMESTAMP_WINDOW = 60
    response = client.post(url, payload, content_type="text/xml")
    _refused(response, crypto.TIMESTAMP_ERROR)
    assert "时间窗口" in response.json()["message"]
    settings.OA_WECOM_TIMESTAMP_WINDOW = 300
    assert client.post(url, payload, content_type="text/xml").status_code == 200
    assert CallbackMessage.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("timestamp", ["", "abc", "1409659700.5", "-1409659700", "１４０９６５９７００"])
def test_a_malformed_timestamp_is_refused(client, vector_settings, timestamp):
    response = client.post(f"{URL}?{_query(B2_SIGNATURE, timestamp, B2_NONCE)}", body(B2_ENCRYPT),
                           content_type="text/xml")
    _refused(response, crypto.TIMESTAMP_ERROR)


@pytest.mark.django_db
def test_a_replayed_url_verification_is_refused(client, vector_settings):
    url = f"{URL}?{_query(B1_SIGNATURE, B1_TIMESTAMP, B1_NONCE)}&echostr={B1_ECHOSTR_URL}"
    assert client.get(url).status_code == 200
    _refused(client.get(url), crypto.NONCE_REPLAYED)


@pytest.mark.django_db
def test_a_reused_timestamp_and_nonce_is_never_processed_twice(client, vector_settings):
    url, payload = _signed_event(str(VECTOR_NOW), "77", user="lina01")
    assert client.post(url, payload, content_type="text/xml").status_code == 200
    # Another message under the same timestamp and nonce (whoever signed it): acknowledged so the platform
    # stops resending, but not recorded.
    other_url, other_payload = _signed_event(str(VECTOR_NOW), "77", user="zhangwei01")
    response = client.post(other_url, other_payload, content_type="text/xml")
    assert response.status_code == 200 and response.content == b"success"
    assert list(CallbackMessage.objects.values_list("from_user", flat=True)) == ["lina01"]


@pytest.mark.django_db
def test_a_callback_that_failed_is_processed_when_the_platform_retries(client, vector_settings, monkeypatch):
    from integrations.wecom import views

    url, payload = _signed_event(str(VECTOR_NOW), "78")
    real = views.do_record_callback

    def broken(fields):
        raise RuntimeError("database went away")

    monkeypatch.setattr(views, "do_record_callback", broken)
    with pytest.raises(RuntimeError):
        client.post(url, payload, content_type="text/xml")
    monkeypatch.setattr(views, "do_record_callback", real)
    assert client.post(url, payload, content_type="text/xml").status_code == 200
    assert CallbackMessage.objects.count() == 1
