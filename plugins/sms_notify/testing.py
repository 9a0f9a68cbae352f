"""For tests and benchmarks of SMS integrations (ours and third parties'): Alibaba's signature
written from its documentation (签名机制), independently of ``gateway.py``, so a local fake
gateway can check what the real one checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

__all__ = ["fixed_params", "pop_encode", "reference_signature"]


def pop_encode(text: str) -> str:
    """The documentation's recipe: form-encode, then + → %20, * → %2A, %7E → ~."""
    return (
        urllib.parse.quote_plus(text, safe="", encoding="utf-8")
        .replace("+", "%20")
        .replace("*", "%2A")
        .replace("%7E", "~")
    )


def reference_signature(params: dict[str, str], secret: str) -> str:
    """Base64 HMAC-SHA1 of ``GET&%2F&<sorted, encoded query>`` with ``secret + "&"``."""
    query = "&".join(f"{pop_encode(k)}={pop_encode(v)}" for k, v in sorted(params.items()))
    to_sign = "GET&" + pop_encode("/") + "&" + pop_encode(query)
    mac = hmac.new((secret + "&").encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def fixed_params(access_key_id: str, sign_name: str) -> dict[str, str]:
    """What every SendSms request signed with these credentials carries (what a fake gateway
    checks before the signature)."""
    return {
        "AccessKeyId": access_key_id,
        "Action": "SendSms",
        "Format": "JSON",
        "RegionId": "cn-hangzhou",
        "SignName": sign_name,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "Version": "2017-05-25",
    }
