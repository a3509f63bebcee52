#!/usr/bin/env python3
"""A minimal client under test for fedconn, in Python with the standard library only.

It speaks the client driver protocol (docs/client-driver.md) on stdin/stdout and knows
one verb, identity.lookup: the hashed lookup of the Matrix identity service API v2
(hash_details, SHA-256 of "address medium pepper" in URL-safe unpadded base64, /lookup,
one re-fetch of the pepper on M_INVALID_PEPPER) and MSC4004's third_party_mappings
referrals, re-hashed with each referred server's own pepper.

    npx fedconn run --client examples/client-shim/python.json --rules IS-LOOKUP,IS-FED

Logs go to stderr; stdout carries protocol lines only.
"""
import base64
import hashlib
import json
import sys
import urllib.error
import urllib.request

IS_PREFIX = "/_matrix/identity/v2"


class GaveUp(Exception):
    """The lookup cannot go on: what the client would tell its user."""


def call(server, method, path, body=None):
    request = urllib.request.Request(
        server["base_url"].rstrip("/") + IS_PREFIX + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + server["access_token"],
                 "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.load(error)
        except ValueError:
            return error.code, {}
    except (urllib.error.URLError, OSError) as error:
        raise GaveUp("%s %s: %s" % (method, path, error)) from error


def sha256_hash(address, medium, pepper):
    digest = hashlib.sha256(("%s %s %s" % (address, medium, pepper)).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def lookup_at(server, address, medium):
    """One server: (user id or None, server names it refers the hash to)."""
    for attempt in (0, 1):
        status, details = call(server, "GET", "/hash_details")
        if status != 200:
            raise GaveUp("hash_details answered %d" % status)
        if "sha256" not in details.get("algorithms", []):
            raise GaveUp("the server offers no sha256")
        pepper = details.get("lookup_pepper", "")
        if not pepper.isalnum():
            raise GaveUp("invalid lookup_pepper %r" % pepper)
        hashed = sha256_hash(address, medium, pepper)
        status, answer = call(server, "POST", "/lookup",
                              {"algorithm": "sha256", "pepper": pepper, "addresses": [hashed]})
        if status == 200:
            referrals = [name for name, hashes in answer.get("third_party_mappings", {}).items()
                         if hashed in hashes]
            return answer.get("mappings", {}).get(hashed), referrals
        if answer.get("errcode") != "M_INVALID_PEPPER" or attempt == 1:
            raise GaveUp("lookup answered %d %s" % (status, answer.get("errcode", "")))
    raise GaveUp("unreachable")


def identity_lookup(args):
    first = args["identity_server"]
    try:
        found, referrals = lookup_at(first, args["address"], args["medium"])
        asked = {first["base_url"]}
        for name in referrals:  # one referral deep, never the same server twice
            if found is not None:
                break
            server = args["referrals"].get(name)
            if server is None or server["base_url"] in asked:
                continue
            asked.add(server["base_url"])
            found, _ = lookup_at(server, args["address"], args["medium"])
    except GaveUp as reason:
        return {"outcome": "gave-up", "reason": str(reason)}
    return {"outcome": "not-found"} if found is None else {"outcome": "found", "user_id": found}


def answer(request):
    verb, args = request["verb"], request.get("args", {})
    if verb == "hello":
        return {"protocol": 1, "name": "python identity shim 0.1", "verbs": ["identity.lookup"]}
    if verb == "identity.lookup":
        return identity_lookup(args)
    raise LookupError("unknown_verb")


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            reply = {"id": request["id"], "ok": True, "result": answer(request)}
        except LookupError:
            reply = {"id": request["id"], "ok": False,
                     "error": {"code": "unknown_verb", "message": request["verb"]}}
        except Exception as error:  # a bug here is an error verdict, never a hang
            print("identity_shim: %r" % error, file=sys.stderr)
            reply = {"id": request["id"], "ok": False,
                     "error": {"code": "failed", "message": repr(error)}}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
