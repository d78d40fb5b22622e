#!/usr/bin/env python3
"""Verifies chainproof files with the Python 3 standard library only (docs/verifying.md, docs/protocol.md).
  python3 verify.py report FILE --key VERIFICATION_KEY [--jwks JWKS]
                                                           a compliance report (HMAC + strict file; the
                                                           Ed25519 attestation with --jwks: without it, an
                                                           attested report is NOT VERIFIED)
  python3 verify.py chain FILE... --key KEY [--key KEY]     audit-log exports and archives (JSONL; gzip is
                                                           read as such), several files as ONE chain in
                                                           the order given: archives oldest first, then
                                                           the live export
Each line must be one record, read as the CLI reads it: exactly its 20 members, no member name
written twice, no blank line (the final newline ends the last line; CRLF line ends are accepted),
each record id once, at least one record in each file. It takes no checkpoint: use the CLI for those.
Exit status: 0 valid, 1 invalid, 2 usage error."""
import argparse
import base64
import gzip
import hashlib
import hmac
import json
import re
import sys
import zlib
from decimal import Decimal

# --- RFC 8785 (JCS) for the values JSON can hold --------------------------------------------

def es_number(x):
    """ECMAScript Number.prototype.toString, which JCS uses for every number."""
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("NaN and Infinity have no JSON form")
    if x <= 0:
        return "0" if x == 0 else "-" + es_number(-x)
    t = Decimal(repr(x)).as_tuple()  # repr: the shortest digits that round-trip, like ECMAScript
    digits = "".join(map(str, t.digits))
    s, n = digits.rstrip("0"), len(digits) + t.exponent  # x = 0.s * 10^n
    k = len(s)
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + s
    return s[0] + ("." + s[1:] if k > 1 else "") + "e" + ("+" if n > 1 else "-") + str(abs(n - 1))

def jcs(v):
    if v is None or isinstance(v, bool):
        return {None: "null", True: "true", False: "false"}[v]
    if isinstance(v, int):  # JSON numbers are doubles: big integers lose digits exactly as in JS
        return str(v) if abs(v) <= 2**53 else es_number(float(v))
    if isinstance(v, float):
        return es_number(v)
    if isinstance(v, str):  # escapes only ", \ and control characters, as JCS does
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, dict):  # members sorted by their UTF-16 code units
        keys = sorted(v, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise TypeError("not a JSON value")

def hmac_hex(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()

# --- Compliance reports ---------------------------------------------------------------------

class DuplicateMember(ValueError):
    """A member name written twice in one object: JSON readers keep one or the other (RFC 8785, I-JSON forbid it)."""
    def __init__(self, name):
        super().__init__("a member name appears twice in one object")
        self.name = name

def strict_pairs(pairs):
    """object_pairs_hook refusing repeated names, in every object at any depth."""
    seen = set()
    for name, _ in pairs:
        if name in seen:
            raise DuplicateMember(name)
        seen.add(name)
    return dict(pairs)

def check_report(raw, key):
    """(the reason the file is not a valid report or None, its top-level members). `raw`: the file's bytes."""
    try:
        top = json.loads(raw.decode("utf-8"), object_pairs_hook=strict_pairs)
    except ValueError as err:  # bad UTF-8, repeated names, text after the closing brace
        return "not a strict JSON file: %s" % err, []
    members = list(top) if isinstance(top, dict) else []
    if members not in (["report", "signature"], ["report", "signature", "attestation"]):
        return 'the top level must be exactly "report", "signature" and optionally "attestation", in order', members
    return report_problem(raw, key, top), members

def report_problem(raw, key, top):
    start = raw.find(b'"report":')
    end = raw.find(b',"signature"', start)
    if start < 0 or end < 0 or raw[:start].strip() != b"{":
        return 'no "report": followed by ,"signature"'
    signed = raw[start + len(b'"report":'):end]
    try:
        if json.loads(signed.decode("utf-8")) != top["report"]:
            raise ValueError
    except ValueError:
        return "the signed bytes are not exactly the report member"
    mac = hmac.new(key.encode("ascii"), signed, hashlib.sha256).hexdigest()
    signature = top["signature"] if isinstance(top["signature"], dict) else {}
    if signature.get("algorithm") != "HMAC-SHA256" or not hmac.compare_digest(mac, str(signature.get("value"))):
        return "signature mismatch: the report bytes were altered, or this is not the organization's key"
    return None

# --- Ed25519 (RFC 8032), for the report's attestation ----------------------------------------

ED_P = 2**255 - 19
ED_L = 2**252 + 27742317777372353535851937790883648493  # the order of the base point
ED_D = -121665 * pow(121666, ED_P - 2, ED_P) % ED_P
ED_SQRT_M1 = pow(2, (ED_P - 1) // 4, ED_P)

def ed_add(p, q):
    """RFC 8032 §5.1.4 point addition in extended coordinates (X, Y, Z, T); it also doubles."""
    a = (p[1] - p[0]) * (q[1] - q[0]) % ED_P
    b = (p[1] + p[0]) * (q[1] + q[0]) % ED_P
    c = 2 * p[3] * q[3] * ED_D % ED_P
    d = 2 * p[2] * q[2] % ED_P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % ED_P, g * h % ED_P, f * g % ED_P, e * h % ED_P

def ed_mul(s, p):
    q = (0, 1, 1, 0)  # the neutral element
    while s:
        if s & 1:
            q = ed_add(q, p)
        p, s = ed_add(p, p), s >> 1
    return q

def ed_encode(p):
    zi = pow(p[2], ED_P - 2, ED_P)
    x, y = p[0] * zi % ED_P, p[1] * zi % ED_P
    return (y | (x & 1) << 255).to_bytes(32, "little")

def ed_decode(b):
    """RFC 8032 §5.1.3: the point of a 32-byte encoding, or None (y >= p, no square root, -0)."""
    if len(b) != 32:
        return None
    y = int.from_bytes(b, "little")
    sign, y = y >> 255, y & (2**255 - 1)
    if y >= ED_P:
        return None
    u, v = (y * y - 1) % ED_P, (ED_D * y * y + 1) % ED_P
    x = u * pow(v, 3, ED_P) * pow(u * pow(v, 7, ED_P), (ED_P - 5) // 8, ED_P) % ED_P
    if v * x * x % ED_P == (-u) % ED_P:
        x = x * ED_SQRT_M1 % ED_P
    if v * x * x % ED_P != u:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = ED_P - x
    return x, y, 1, x * y % ED_P

ED_B = ed_decode((4 * pow(5, ED_P - 2, ED_P) % ED_P).to_bytes(32, "little"))

def ed25519_verify(public_key, message, signature):
    """RFC 8032 §5.1.7 with the acceptance rule of Node's and WebCrypto's Ed25519 verify: S < L, A
    decodes, and the canonical encoding of [S]B - [k]A is R byte for byte (cofactorless [S]B = R + [k]A,
    R canonical), k = SHA-512(R || A || M) mod L. All three arguments are bytes."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = ed_decode(public_key)
    s = int.from_bytes(signature[32:], "little")
    if a is None or s >= ED_L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % ED_L
    minus_a = ((-a[0]) % ED_P, a[1], a[2], (-a[3]) % ED_P)
    return ed_encode(ed_add(ed_mul(s, ED_B), ed_mul(k, minus_a))) == signature[:32]

def b64url(text):
    """The bytes of unpadded base64url in its one canonical form (as the CLI reads it), or None."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        return None
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return raw if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") == text else None

def read_jwks(text):
    """The {"keys":[{"kid":…,"x":…}]} of /.well-known/jwks.json as a list of keys, or None."""
    try:
        keys = json.loads(text).get("keys")
    except (ValueError, AttributeError):
        return None
    if not isinstance(keys, list) or not all(isinstance(k, dict) and isinstance(k.get("kid"), str)
                                             and isinstance(k.get("x"), str) for k in keys):
        return None
    return keys

def attestation_check(raw, top, jwks):
    """(the attestation line, the reason the report is not valid or None, whether it went unchecked)
    for a file whose HMAC verified. Anyone holding the verification key (any org_admin) can make the
    HMAC: a report that carries an attestation is valid only when it was checked against the JWKS
    and verifies, and with a JWKS one without it is not valid."""
    att = top.get("attestation")
    if att is None:
        if jwks is None:
            return "absent", None, False
        return "ABSENT (required with --jwks)", ("the report has no attestation, and its issuer attests every "
                                                 "report: the HMAC alone does not show who made it"), False
    if not (isinstance(att, dict) and att.get("algorithm") == "Ed25519" and isinstance(att.get("kid"), str)
            and isinstance(att.get("value"), str)):
        return "INVALID", 'attestation must be {"algorithm":"Ed25519","kid":…,"value":…}', False
    kid = att["kid"]
    if jwks is None:
        return "present (kid %s), NOT CHECKED: pass --jwks FILE" % kid, (
            "the report carries an Ed25519 attestation, which could not be checked without the public keys: "
            "pass --jwks FILE (GET /.well-known/jwks.json). The HMAC alone shows only that a holder of the "
            "organization's verification key (any org_admin) made the report"), True
    key = next((k for k in jwks if k["kid"] == kid), None)
    if key is None:
        return "INVALID (kid %s)" % kid, "attestation key %s is not among the published keys" % json.dumps(kid), False
    public, signature = b64url(key["x"]), b64url(att["value"])
    start = raw.find(b'"report":') + len(b'"report":')
    signed = raw[start:raw.find(b',"signature"', start)]
    if public is None or signature is None or key.get("kty", "OKP") != "OKP" or key.get("crv", "Ed25519") != "Ed25519" \
            or not ed25519_verify(public, signed, signature):
        return "INVALID (kid %s)" % kid, "attestation signature does not verify over the report bytes", False
    return "valid (kid %s)" % kid, None, False

UNATTESTED_NOTE = ("the report carries no attestation: its HMAC shows only that a holder of the organization's "
                   "verification key (any org_admin) made it, not that chainproof did. A deployment with a checkpoint "
                   "key attests every report; check such a report with --jwks FILE, which then requires the attestation")

# --- Chain exports --------------------------------------------------------------------------

SEALED = ["id", "organization_id", "seq", "site_id", "actor_id", "action", "resource_type", "resource_id", "status",
          "ip_address", "user_agent", "changes", "previous_state", "new_state", "metadata", "timestamp", "recorded_at", "key_id"]
MEMBERS = SEALED + ["prev_hash", "row_hmac"]

def refuse_constant(name):
    raise ValueError("%s is not JSON" % name)

def is_seq(v):
    """A JSON number that is an integer in 1..2^53-1, as the CLI's Number.isSafeInteger reads it. Python's
    bool is an int, but true is not a number; 7.0 is the number 7."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return (isinstance(v, int) or v.is_integer()) and 1 <= v <= 2**53 - 1

def parse_row(text):
    """(the record on one line, None) or (None, what is wrong with it): the checks and words of the CLI
    (parseRecord in cli/chain-walk.ts). Only the chain fields are typed; values are sealed as they are."""
    if not text.strip():
        return None, "blank line"
    try:
        row = json.loads(text, object_pairs_hook=strict_pairs, parse_constant=refuse_constant)
    except DuplicateMember as err:
        return None, "duplicate member %s" % err.name
    except ValueError:
        return None, "not valid JSON"
    if not isinstance(row, dict):
        return None, "not a JSON object"
    missing = [m for m in MEMBERS if m not in row]
    if missing:
        return None, "missing " + ", ".join(missing)
    extra = [m for m in row if m not in MEMBERS]
    if extra:
        return None, "unexpected member " + ", ".join(extra)
    if not isinstance(row["id"], str) or not isinstance(row["organization_id"], str):
        return None, "id and organization_id must be strings"
    if row["seq"] is not None and not is_seq(row["seq"]):
        return None, "seq must be a positive integer or null"
    if not all(row[f] is None or isinstance(row[f], str) for f in ("key_id", "prev_hash", "row_hmac")):
        return None, "key_id, prev_hash and row_hmac must be strings or null"
    return row, None

def key_id(key):
    return hmac_hex(key, "chainproof key id")[:16]

def canonical(row):
    return jcs({name: row[name] for name in SEALED})

def own(row, *fields):
    """Whether this is a record chainproof wrote itself, carrying these metadata members."""
    m = row["metadata"]
    return isinstance(m, dict) and m.get("source") == "chainproof" and all(f in m for f in fields)

def link_problem(row, at, keys):
    """Why `row` does not continue the chain walked so far (`at`), or None."""
    if row["organization_id"] != at["org"]:
        return "organization mismatch"
    if row["seq"] != at["seq"] + 1:
        return "seq out of order" if row["seq"] <= at["seq"] else "seq gap"
    if row["prev_hash"] != at["hmac"]:
        return "prev_hash mismatch"
    key = keys.get(row["key_id"])
    if key is None:
        return "unknown key_id"
    if not hmac.compare_digest(hmac_hex(key, (row["prev_hash"] or "") + canonical(row)), str(row["row_hmac"])):
        return "row_hmac mismatch"
    if not in_epoch(row, at):
        return "key_id out of epoch"
    return None

def key_rotation(row):
    """(previous_key_id, new_key_id) of chainproof's own key_rotate record, or None: a client's key_rotate opens no epoch."""
    m = row["metadata"]
    if row["action"] != "key_rotate" or not own(row, "previous_key_id", "new_key_id"):
        return None
    if not isinstance(m["previous_key_id"], str) or not isinstance(m["new_key_id"], str):
        return None
    return m["previous_key_id"], m["new_key_id"]

def in_epoch(row, at):
    """KeyEpochs#admits (src/audit/chain/walker.ts), word for word: only the key in force seals the next row, unless the row is a rotation
    sealed with the key it opens, out of the key in force, into another key whose epoch no earlier rotation
    closed (else a retired, perhaps leaked, key could rotate the chain back to itself)."""
    rotation = key_rotation(row)
    if rotation is None:
        return at["epoch"] in (None, row["key_id"])
    previous, opens = rotation
    return row["key_id"] == opens and opens != previous and at["epoch"] in (None, previous) and opens not in at["closed"]

def import_statement(row):
    """(ids, content_sha256) of chainproof's own import record, or None: a client's import covers nothing."""
    m = row["metadata"]
    if row["action"] != "import" or not own(row, "ids", "content_sha256"):
        return None
    if not isinstance(m["content_sha256"], str) or not isinstance(m["ids"], list) or not all(isinstance(i, str) for i in m["ids"]):
        return None
    return m["ids"], m["content_sha256"]

def walk(files, keys):
    """(verified rows, unchained rows, first break or None). `files` gives each file's (name, lines), `lines`
    its (where, text) pairs; a break is (seq, id, where, reason), None where it does not apply."""
    at, unchained, imports, checked, seen = None, {}, [], 0, set()
    for name, lines in files:
        if not lines:  # a file with no record proves nothing
            return checked, len(unchained), (None, None, name, "the file holds no records")
        for where, text in lines:
            row, problem = parse_row(text)
            if problem:
                return checked, len(unchained), (None, None, where, "malformed record: " + problem)
            if row["id"] in seen:  # a repeated line would otherwise count as another unchained row
                return checked, len(unchained), (row["seq"], row["id"], where, "duplicate record id")
            seen.add(row["id"])
            if row["seq"] is None:
                unchained[row["id"]] = row
                continue
            if at is None:  # a file that starts after seq 1 (a range export) trusts its first prev_hash
                at = {"org": row["organization_id"], "seq": row["seq"] - 1, "epoch": None, "closed": set(),
                      "hmac": None if row["seq"] == 1 else row["prev_hash"]}
            reason = link_problem(row, at, keys)
            if reason:
                return checked, len(unchained), (row["seq"], row["id"], where, reason)
            checked += 1
            at.update(seq=row["seq"], hmac=row["row_hmac"], epoch=row["key_id"])
            rotation = key_rotation(row)
            if rotation:  # the epoch it closed stays closed
                at["closed"].add(rotation[0])
            statement = import_statement(row)
            if statement:
                imports.append((row, statement))
    return checked, len(unchained), import_break(imports, unchained)

def import_break(imports, unchained):
    """Each unchained row must be named by an import record whose digest still matches its rows."""
    covered = set()
    for rec, (ids, content_sha256) in imports:
        missing = [i for i in ids if i not in unchained
                   or any(unchained[i][f] is not None for f in ("key_id", "prev_hash", "row_hmac"))]
        if missing:
            return None, missing[0], None, "imported row missing or no longer unchained"
        digest = hashlib.sha256("\n".join(canonical(unchained[i]) for i in ids).encode("utf-8")).hexdigest()
        if digest != content_sha256:
            return rec["seq"], rec["id"], None, "imported rows do not match their import record"
        covered.update(ids)
    # the first in file order, as the CLI names it
    stray = [i for i in unchained if i not in covered]
    return (None, stray[0], None, "unchained row not covered by an import") if stray else None

class GzipError(Exception):
    pass

def chain_files(names, raws):
    """(name, [(where, text), ...]) for each file in order, gunzipping the ones that start with 1f 8b. The
    name is None when there is one file. A final newline ends the last line rather than starting another.
    Lines end at LF, CRLF or a lone CR, as they do for the CLI (Node's readline): a CR inside a line
    splits it in both, so both name the same line."""
    several = len(names) > 1
    for name, raw in zip(names, raws):
        if raw[:2] == b"\x1f\x8b":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as err:
                raise GzipError("%s: not a valid gzip file (%s)" % (name, err))
        lines = re.split("\r\n|\r|\n", raw.decode("utf-8"))
        if lines[-1] == "":
            lines.pop()
        yield (name if several else None), [
            ("%s line %d" % (name, n) if several else "line %d" % n, text) for n, text in enumerate(lines, 1)]

def main(argv):
    parser = argparse.ArgumentParser(description="Verify chainproof reports and chain exports offline.")
    parser.add_argument("what", choices=["report", "chain"])
    parser.add_argument("file", nargs="+")
    parser.add_argument("--key", action="append", required=True,
                        help="report: the 64-hex verification key; chain: an AUDIT_HMAC_KEY string (repeat it)")
    parser.add_argument("--jwks", help="report: the public keys, as served at /.well-known/jwks.json")
    args = parser.parse_args(argv)
    if args.jwks is not None and args.what != "report":
        parser.error("--jwks belongs to report")
    raws = []
    for name in args.file:
        try:
            with open(name, "rb") as f:
                raws.append(f.read())
        except OSError as err:
            parser.error("cannot read %s: %s" % (name, err.strerror))
    if args.what == "report":
        if len(raws) != 1:
            parser.error("report takes one file")
        raw = raws[0]
        if len(args.key) != 1 or len(args.key[0]) != 64 or not set(args.key[0]) <= set("0123456789abcdef"):
            parser.error("report takes one --key: 64 lowercase hex characters")
        jwks = None
        if args.jwks is not None:
            try:
                with open(args.jwks, "rb") as f:
                    jwks = read_jwks(f.read())
            except OSError as err:
                parser.error("cannot read %s: %s" % (args.jwks, err.strerror))
            if jwks is None:
                parser.error('JWKS %s must look like {"keys":[{"kid":…,"x":…}]} (as served at /.well-known/jwks.json)' % args.jwks)
        reason, members = check_report(raw, args.key[0])
        if reason:
            print("report:       INVALID\nreason:       " + reason)
            return 1
        line, reason, unchecked = attestation_check(raw, json.loads(raw.decode("utf-8")), jwks)
        print("report:       %s" % ("NOT VERIFIED" if unchecked else "INVALID" if reason else "VALID"))
        print("hmac:         valid")
        print("attestation:  " + line)
        if reason:
            print("reason:       " + reason)
        elif "attestation" not in members:
            print("note:         " + UNATTESTED_NOTE)
        return 1 if reason else 0
    keys = {key_id(k.encode("utf-8")): k.encode("utf-8") for k in args.key}
    try:
        checked, unchained, broken = walk(chain_files(args.file, raws), keys)
    except GzipError as err:
        print("chain:        INVALID\nreason:       %s" % err)
        return 1
    except UnicodeDecodeError as err:
        print("chain:        INVALID\nreason:       not UTF-8 text (%s)" % err)
        return 1
    print("chain:        %s" % ("INVALID" if broken else "VALID"))
    print("rows:         %d verified, %d unchained" % (checked, unchained))
    if broken:
        seq, row_id, where, reason = broken
        at = ([] if seq is None else ["seq %d" % seq]) + ([] if row_id is None else ["id " + row_id]) + ([where] if where else [])
        print("first break:  %s" % ": ".join(([", ".join(at)] if at else []) + [reason]))
    return 1 if broken else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
