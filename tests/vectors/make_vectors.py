#!/usr/bin/env python3
"""Writes the must-refuse vectors in tests/vectors/ from the goldens in tests/golden/ (run from the repo root:
`python3 tests/vectors/make_vectors.py`). Each `fail_*` file is one input the real parser must refuse, and each
folder's expected.json names the error code it must refuse it with. The files are committed; this script only
documents how they were made (and remakes them identically: nothing in it is random).

Signed token vectors use the golden vault's key for shop.example: its pairwise seed, derived from the golden
signing seed (bytes 0..31, as in crates/grants/tests/integration/golden.rs) the way crates/wire/src/issuer.rs
says. They need the `cryptography` package.
"""
import base64
import copy
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(ROOT, "tests", "golden")
OUT = os.path.join(ROOT, "tests", "vectors")


def golden(name):
    with open(os.path.join(GOLDEN, name), "rb") as f:
        return f.read()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Folder:
    def __init__(self, name):
        self.dir = os.path.join(OUT, name)
        os.makedirs(self.dir, exist_ok=True)
        self.expected = {}

    def put(self, name, data, code):
        if isinstance(data, (dict, list)):
            data = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)
        self.expected[name] = code

    def done(self):
        with open(os.path.join(self.dir, "expected.json"), "w") as f:
            json.dump(dict(sorted(self.expected.items())), f, indent=2)
            f.write("\n")


def flip(s, i):
    """`s` with the base64url character at `i` replaced by another one."""
    c = "A" if s[i] != "A" else "B"
    return s[:i] + c + s[i + 1 :]


# ---------------------------------------------------------------------------------------------------------
# PASETO v4.public, enough to sign vectors with the golden seed.

def pae(pieces):
    out = struct.pack("<Q", len(pieces))
    for p in pieces:
        out += struct.pack("<Q", len(p)) + p
    return out


def sign(seed, payload, footer):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(bytes(seed))
    header = b"v4.public."
    sig = key.sign(pae([header, payload, footer, b""]))
    token = header.decode() + b64u(payload + sig)
    if footer:
        token += "." + b64u(footer)
    return token


def pairwise_seed(vault_seed, retailer_id):
    """The Ed25519 seed a vault signs with for one retailer (crates/wire/src/issuer.rs)."""
    import hashlib
    import hmac

    root = hmac.new(bytes(vault_seed), b"locket/pairwise-issuer-key/v1", hashlib.sha256).digest()
    return list(hmac.new(root, retailer_id.encode(), hashlib.sha256).digest())


GOLDEN_SEED = pairwise_seed(list(range(32)), "shop.example")
OTHER_SEED = [7] * 32


def main():
    grant = json.loads(golden("grant.v1.json"))
    token = grant["token"]
    _, _, body, footer = token.split(".")
    claims = json.loads(b64u_dec(body)[:-64])
    footer_bytes = b64u_dec(footer)

    # -- token -------------------------------------------------------------------------------------------
    t = Folder("token")
    t.put("fail_empty.txt", "", "token_malformed")
    t.put("fail_v4_local.txt", "v4.local." + body, "token_malformed")
    t.put("fail_v3_public.txt", "v3.public." + body, "token_malformed")
    t.put("fail_not_base64url.txt", "v4.public.!!not*base64!!", "token_malformed")
    t.put("fail_shorter_than_a_signature.txt", "v4.public." + b64u(b"{}"), "token_malformed")
    t.put("fail_footer_not_kid.txt", "v4.public." + body + "." + b64u(b'{"key":"x"}'), "token_malformed")
    t.put("fail_footer_not_json.txt", "v4.public." + body + "." + b64u(b"kid"), "token_malformed")
    t.put(
        "fail_unknown_key_id.txt",
        "v4.public." + body + "." + b64u(b'{"kid":"k4.pid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'),
        "token_unknown_key",
    )
    t.put("fail_payload_altered.txt", "v4.public." + flip(body, 10) + "." + footer, "token_invalid_signature")
    t.put("fail_signature_altered.txt", "v4.public." + flip(body, len(body) - 5) + "." + footer, "token_invalid_signature")
    t.put("fail_no_footer.txt", "v4.public." + body, "token_malformed")
    payload = json.dumps(claims, separators=(",", ":")).encode()
    t.put("fail_signed_by_another_key.txt", sign(OTHER_SEED, payload, footer_bytes), "token_invalid_signature")
    other_iss = dict(claims, iss="00000000-0000-4000-8000-000000000000")
    t.put(
        "fail_other_issuer.txt",
        sign(GOLDEN_SEED, json.dumps(other_iss, separators=(",", ":")).encode(), footer_bytes),
        "token_unknown_key",
    )
    expired = dict(claims, nbf="2026-11-01T00:00:00Z", iat="2026-11-01T00:00:00Z", exp="2026-11-02T00:00:00Z")
    t.put(
        "fail_expired.txt",
        sign(GOLDEN_SEED, json.dumps(expired, separators=(",", ":")).encode(), footer_bytes),
        "token_expired",
    )
    early = dict(claims, nbf="2027-01-01T00:00:00Z", exp="2027-02-01T00:00:00Z")
    t.put(
        "fail_not_yet_valid.txt",
        sign(GOLDEN_SEED, json.dumps(early, separators=(",", ":")).encode(), footer_bytes),
        "token_not_yet_valid",
    )
    t.put(
        "fail_claims_not_locket.txt",
        sign(GOLDEN_SEED, b'{"hello":"world"}', footer_bytes),
        "token_malformed",
    )
    bad_time = dict(claims, exp="next tuesday")
    t.put(
        "fail_time_not_rfc3339.txt",
        sign(GOLDEN_SEED, json.dumps(bad_time, separators=(",", ":")).encode(), footer_bytes),
        "token_malformed",
    )
    t.put("fail_too_long.txt", "v4.public." + "A" * 8300, "token_malformed")
    t.done()

    # -- Authorization header ({token} = a live grant's token; one line per header sent; empty = none) -----
    a = Folder("authorization")
    a.put("fail_missing.txt", "", "authorization_missing")
    a.put("fail_token_without_scheme.txt", "{token}", "token_malformed")
    a.put("fail_basic_scheme.txt", "Basic {token}", "token_malformed")
    a.put("fail_no_space_after_scheme.txt", "Bearer{token}", "token_malformed")
    a.put("fail_scheme_only.txt", "Bearer", "token_malformed")
    a.put("fail_character_outside_paseto.txt", "Bearer {token}!", "token_malformed")
    a.put("fail_two_tokens.txt", "Bearer {token} {token}", "token_malformed")
    a.put("fail_not_ascii.txt", "Bearer {token}\u00e9", "token_malformed")
    a.put("fail_sent_twice.txt", "Bearer {token}\nBearer {token}", "token_malformed")
    a.put("fail_over_8_kib.txt", "Bearer v4.public." + "A" * 8200, "token_malformed")
    a.put("fail_not_a_token.txt", "Bearer v4.public.AAAA", "token_malformed")
    a.put("fail_altered_token.txt", "Bearer " + "v4.public." + flip(body, 10) + "." + footer, "token_unknown_key")
    a.done()

    # -- grant request -----------------------------------------------------------------------------------
    req = json.loads(golden("grant-request.v1.json"))
    r = Folder("grant-request")

    def mut(name, f, code):
        d = copy.deepcopy(req)
        f(d)
        r.put(name, d, code)

    r.put("fail_empty.json", "", "request_malformed")
    r.put("fail_not_json.json", "format: locket.grant-request/v1\n", "request_malformed")
    r.put("fail_truncated.json", json.dumps(req)[:120], "request_malformed")
    r.put("fail_array.json", [req], "request_invalid")
    mut("fail_wrong_format.json", lambda d: d.update(format="locket.grant-request/v2"), "request_invalid")
    mut("fail_missing_retailer.json", lambda d: d.pop("retailer"), "request_invalid")
    mut("fail_no_scopes.json", lambda d: d.update(scopes=[]), "request_invalid")
    mut("fail_duplicate_scope.json", lambda d: d["scopes"].append(copy.deepcopy(d["scopes"][0])), "request_invalid")
    mut("fail_unknown_purpose.json", lambda d: d["scopes"][0].update(purpose="resale"), "request_invalid")
    mut("fail_unknown_scope.json", lambda d: d["scopes"][0].update(scope="contact.shoe_size_of_cat"), "request_invalid")
    mut("fail_duration_in_months.json", lambda d: d.update(requested_duration="P1M"), "request_invalid")
    mut("fail_duration_zero.json", lambda d: d.update(requested_duration="P0D"), "request_invalid")
    mut("fail_duration_not_iso.json", lambda d: d.update(requested_duration="a while"), "request_invalid")
    mut("fail_created_in_the_future.json", lambda d: d.update(created_at="2099-01-01T00:00:00Z"), "request_invalid")
    mut("fail_extra_property.json", lambda d: d.update(callback="https://evil.example/steal"), "request_invalid")
    mut("fail_required_not_boolean.json", lambda d: d["scopes"][0].update(required="yes"), "request_invalid")
    # Text that would rewrite the owner's terminal, or read differently from what it holds.
    cc = "request_control_characters"
    mut("fail_name_terminal_escape.json", lambda d: d["retailer"].update(name="Nice Shop\u001b[2K\r\u001b]0;pwned\u0007"), cc)
    mut("fail_name_direction_override.json", lambda d: d["retailer"].update(name="Example Shop\u202epohS evE"), cc)
    mut("fail_contact_newline.json", lambda d: d["retailer"].update(contact="privacy@shop.example\nVerified by Locket"), cc)
    mut("fail_purpose_text_isolate.json", lambda d: d["scopes"][0].update(purpose_text="To send receipts\u2066 and sell them\u2069"), cc)
    mut("fail_statement_c1_control.json", lambda d: d["retention"].update(statement="We delete it\u009b2K at once."), cc)
    mut("fail_statement_line_separator.json", lambda d: d["retention"].update(statement="We delete it.\u2028We keep it forever."), cc)
    mut("fail_privacy_policy_tab.json", lambda d: d["retailer"].update(privacy_policy="https://shop.example/privacy\t"), cc)
    mut("fail_member_name_escape.json", lambda d: d["scopes"][0].update({"note\u001b": "x"}), cc)

    # What the shop offers in return and who else gets the data (made from the golden that has both).
    vx = json.loads(golden("grant-request.v1.benefit-recipients.json"))

    def xmut(name, f, code):
        d = copy.deepcopy(vx)
        f(d)
        r.put(name, d, code)

    bi = "request_benefit_invalid"
    xmut("fail_benefit_without_description.json", lambda d: d["benefit"].pop("description"), bi)
    xmut("fail_benefit_not_an_object.json", lambda d: d.update(benefit="10% off"), bi)
    xmut("fail_benefit_unknown_offer.json", lambda d: d["benefit"].update(offer={"kind": "cashback", "percent": 5}), bi)
    xmut("fail_benefit_percent_over_100.json", lambda d: d["benefit"]["offer"].update(percent=150), bi)
    xmut("fail_benefit_member_of_another_kind.json", lambda d: d["benefit"]["offer"].update(points=100), bi)
    xmut("fail_benefit_amount_zero.json", lambda d: d["benefit"].update(offer={"kind": "discount_amount", "amount": "0.00", "currency": "EUR"}), bi)
    xmut("fail_benefit_amount_comma.json", lambda d: d["benefit"].update(offer={"kind": "discount_amount", "amount": "5,00", "currency": "EUR"}), bi)
    xmut("fail_benefit_unknown_currency.json", lambda d: d["benefit"].update(offer={"kind": "discount_amount", "amount": "5", "currency": "XBT"}), bi)
    xmut("fail_benefit_too_long.json", lambda d: d["benefit"].update(description="Great value! " * 40), bi)
    ri = "request_recipients_invalid"
    xmut("fail_recipient_country_uk.json", lambda d: d["recipients"][0].update(country="UK"), ri)
    xmut("fail_recipient_country_lowercase.json", lambda d: d["recipients"][0].update(country="gb"), ri)
    xmut("fail_recipient_country_eu.json", lambda d: d["recipients"][1].update(country="EU"), ri)
    xmut("fail_recipient_without_country.json", lambda d: d["recipients"][0].pop("country"), ri)
    xmut("fail_recipient_unknown_role.json", lambda d: d["recipients"][0].update(role="partner"), ri)
    xmut("fail_recipient_other_purpose_without_text.json", lambda d: d["recipients"][1].update(purpose="other"), ri)
    xmut("fail_recipient_empty_name.json", lambda d: d["recipients"][0].update(name=""), ri)
    xmut("fail_recipient_extra_member.json", lambda d: d["recipients"][0].update(verified=True), ri)
    xmut("fail_recipient_listed_twice.json", lambda d: d["recipients"].append(copy.deepcopy(d["recipients"][0])), ri)
    xmut(
        "fail_recipients_over_20.json",
        lambda d: d.update(recipients=[dict(d["recipients"][1], name="Partner %d" % i) for i in range(21)]),
        ri,
    )
    xmut("fail_recipients_not_a_list.json", lambda d: d.update(recipients={"name": "Parcel Express Ltd"}), ri)
    xmut("fail_benefit_and_recipient_broken.json", lambda d: (d["benefit"]["offer"].update(percent=0), d["recipients"][0].update(country="UK")), "request_invalid")
    xmut("fail_benefit_terminal_escape.json", lambda d: d["benefit"].update(description="10% off\u001b[1A\u001b[2KVerified by Locket"), cc)
    xmut("fail_recipient_name_direction_override.json", lambda d: d["recipients"][2].update(name="Insight Panel\u202e.cnI"), cc)
    r.done()

    # -- grant file --------------------------------------------------------------------------------------
    g = Folder("grant-file")

    def gmut(name, f):
        d = copy.deepcopy(grant)
        f(d)
        g.put(name, d, "grant_file_invalid")

    g.put("fail_empty.json", "", "grant_file_invalid")
    g.put("fail_not_json.json", "token = v4.public.x\n", "grant_file_invalid")
    gmut("fail_wrong_format.json", lambda d: d.update(format="locket.grant/v2"))
    gmut("fail_missing_token.json", lambda d: d.pop("token"))
    gmut("fail_token_not_paseto.json", lambda d: d.update(token="not-a-token"))
    gmut("fail_retailer_differs_from_token.json", lambda d: d["retailer"].update(id="evil.example"))
    gmut("fail_grant_id_differs_from_token.json", lambda d: d.update(grant_id="gr_ffffffffffffffffffffffffffffffff"))
    gmut("fail_issuer_differs_from_token.json", lambda d: d.update(issuer="00000000-0000-4000-8000-000000000000"))
    gmut("fail_key_id_not_of_public_key.json", lambda d: d.update(key_id="k4.pid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
    gmut("fail_public_key_not_paserk.json", lambda d: d.update(public_key="ed25519:abc"))
    gmut("fail_receipt_altered.json", lambda d: d["receipt"]["controller"].update(name="Someone Else"))
    gmut("fail_receipt_for_another_grant.json", lambda d: d["receipt"]["grant"].update(grant_id="gr_0"))
    gmut("fail_max_uses_negative.json", lambda d: d.update(max_uses=-1))
    g.done()

    # -- consent receipt (verified with the golden receipt's issuer key) ---------------------------------
    rc = json.loads(golden("consent-receipt.v1.json"))
    c = Folder("consent-receipt")

    def cmut(name, f, code):
        d = copy.deepcopy(rc)
        f(d)
        c.put(name, d, code)

    c.put("fail_empty.json", "", "receipt_malformed")
    c.put("fail_not_json.json", "receipt\n", "receipt_malformed")
    cmut("fail_wrong_format.json", lambda d: d.update(format="locket.consent-receipt/v2"), "receipt_malformed")
    cmut("fail_unsigned.json", lambda d: d.pop("proof"), "receipt_malformed")
    cmut("fail_unknown_proof_type.json", lambda d: d["proof"].update(type="jws"), "receipt_malformed")
    cmut("fail_missing_grant.json", lambda d: d.pop("grant"), "receipt_malformed")
    cmut("fail_controller_altered.json", lambda d: d["controller"].update(name="Someone Else"), "receipt_invalid_signature")
    cmut("fail_scope_added.json", lambda d: d["scopes"].append(copy.deepcopy(d["scopes"][0])), "receipt_invalid_signature")
    cmut("fail_expiry_extended.json", lambda d: d["grant"].update(expires_at="2099-01-01T00:00:00Z"), "receipt_invalid_signature")
    cmut("fail_proof_key_id_other.json", lambda d: d["proof"].update(key_id="k4.pid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "receipt_invalid_signature")
    cmut("fail_proof_token_garbage.json", lambda d: d["proof"].update(token="v4.public.AAAA"), "receipt_invalid_signature")
    cmut("fail_benefit_altered.json", lambda d: d["benefit"]["offer"].update(amount="50.00"), "receipt_invalid_signature")
    cmut("fail_benefit_removed.json", lambda d: d.pop("benefit"), "receipt_invalid_signature")
    cmut("fail_recipient_removed.json", lambda d: d["recipients"].pop(), "receipt_invalid_signature")
    cmut("fail_recipients_emptied.json", lambda d: d.update(recipients=[]), "receipt_invalid_signature")
    cmut("fail_recipient_role_changed.json", lambda d: d["recipients"][1].update(role="processor"), "receipt_invalid_signature")
    cmut("fail_recipient_unknown_role.json", lambda d: d["recipients"][1].update(role="friend"), "receipt_malformed")
    c.done()

    # -- export file (encrypted ones: passphrase golden-export-passphrase) -------------------------------
    plain = json.loads(golden("export-v1/export.json"))
    enc = json.loads(golden("export-v1/export.encrypted.json"))
    e = Folder("export")

    def emut(name, base, f, code):
        d = copy.deepcopy(base)
        f(d)
        e.put(name, d, code)

    e.put("fail_empty.json", "", "export_malformed")
    e.put("fail_not_json.json", "PK\x03\x04", "export_malformed")
    emut("fail_no_format.json", plain, lambda d: d.pop("format"), "export_malformed")
    emut("fail_unknown_format.json", plain, lambda d: d.update(format="locket.export/v9"), "export_unsupported")
    emut("fail_profile_not_an_object.json", plain, lambda d: d.update(profile="everything"), "export_malformed")
    emut("fail_unknown_section.json", plain, lambda d: d.update(sections={"mystery": {}}), "export_unknown_section")
    emut("fail_ciphertext_altered.json", enc, lambda d: d.update(ciphertext=flip(d["ciphertext"], 20)), "wrong_export_passphrase")
    emut("fail_nonce_malformed.json", enc, lambda d: d.update(nonce="AAAA"), "export_malformed")
    emut("fail_unknown_cipher.json", enc, lambda d: d.update(cipher="rot13"), "export_malformed")
    emut("fail_kdf_memory_absurd.json", enc, lambda d: d["kdf"].update(m_cost_kib=5 * 1024 * 1024), "export_malformed")
    emut("fail_kdf_unknown.json", enc, lambda d: d["kdf"].update(alg="md5"), "export_malformed")
    e.done()

    # -- keyslots.json (replacing the golden vault-v4's; passphrase golden-passphrase) -------------------
    ks = json.loads(golden("vault-v4/keyslots.json"))
    k = Folder("keyslots")

    def kmut(name, f, code="vault_damaged"):
        d = copy.deepcopy(ks)
        f(d)
        k.put(name, d, code)

    k.put("fail_empty.json", "", "vault_damaged")
    k.put("fail_not_json.json", "slots\n", "vault_damaged")
    kmut("fail_unknown_format.json", lambda d: d.update(format="locket.keyslots/v9"))
    kmut("fail_vault_id_not_uuid.json", lambda d: d.update(vault_id="my-vault"))
    kmut("fail_no_passphrase_slot.json", lambda d: d.update(slots=[s for s in d["slots"] if s["kind"] != "passphrase"]))
    kmut("fail_unknown_kdf.json", lambda d: d["slots"][0]["kdf"].update(alg="pbkdf2"))
    kmut("fail_kdf_memory_absurd.json", lambda d: d["slots"][0]["kdf"].update(m_cost_kib=1 << 30))
    kmut("fail_kdf_zero_iterations.json", lambda d: d["slots"][0]["kdf"].update(t_cost=0))
    kmut("fail_salt_not_base64.json", lambda d: d["slots"][0]["kdf"].update(salt="***"))
    kmut("fail_nonce_malformed.json", lambda d: d["slots"][0].update(nonce="AAAA"))
    kmut("fail_wrapped_key_short.json", lambda d: d["slots"][0].update(wrapped_key="AAAA"))
    kmut("fail_wrapped_key_altered.json", lambda d: d["slots"][0].update(wrapped_key=flip(d["slots"][0]["wrapped_key"], 3)), "wrong_passphrase")
    kmut("fail_other_vault_id.json", lambda d: d.update(vault_id="00000000-0000-4000-8000-000000000000"), "wrong_passphrase")
    k.done()

    # -- deep links --------------------------------------------------------------------------------------
    data = b64u(golden("grant-request.v1.json"))
    dl = Folder("deep-link")
    dl.put("fail_https_scheme.txt", "https://shop.example/request?data=" + data, "deep_link_invalid")
    dl.put("fail_uppercase_scheme.txt", "LOCKET://request?data=" + data, "deep_link_invalid")
    dl.put("fail_grant_path.txt", "locket://grant?data=" + data, "deep_link_invalid")
    dl.put("fail_userinfo_before_path.txt", "locket://shop@request?data=" + data, "deep_link_invalid")
    dl.put("fail_no_query.txt", "locket://request", "deep_link_invalid")
    dl.put("fail_no_data_parameter.txt", "locket://request?url=https://shop.example/r.json", "deep_link_invalid")
    dl.put("fail_percent_encoded.txt", "locket://request?data=%7B%7D", "deep_link_invalid")
    dl.put("fail_standard_base64.txt", "locket://request?data=" + base64.b64encode(b"{\"a\":\"??>\"}").decode(), "deep_link_invalid")
    dl.put("fail_impossible_length.txt", "locket://request?data=A", "deep_link_invalid")
    dl.put("fail_too_large.txt", "locket://request?data=" + "A" * 90000, "deep_link_invalid")
    dl.done()


if __name__ == "__main__":
    sys.exit(main())
