#!/usr/bin/env python3
"""Checks chainproof's public proofs with the Python 3 standard library only (docs/verifying.md §5,
docs/protocol.md §1 for canonical(row)): RFC 6962 hashing and the RFC 9162 proof checks, over saved API answers.
  python3 verify_proof.py tree-head NOTE --jwks JWKS               a signed tree head (C2SP checkpoint)
  python3 verify_proof.py inclusion ANSWER [--record RECORD] --jwks JWKS
                                                                   GET /api/v1/audit/logs/{id}/proof
  python3 verify_proof.py consistency ANSWER --first NOTE --jwks JWKS
                                                                   GET /api/v1/audit/proofs/consistency
NOTE is the note text, or JSON holding it as "checkpoint" or "tree_head". JWKS is the public keys as
served at /.well-known/jwks.json: a tree head counts only with a chainproof signature line that
verifies (Ed25519, with the pure-Python RFC 8032 check of verify.py) under a key of the JWKS, since
anyone can compute a root and proofs that agree with each other.
Exit status: 0 valid, 1 invalid, 2 usage error."""
import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify import DuplicateMember, canonical, ed25519_verify, read_jwks, strict_pairs  # noqa: E402  (the §1 bytes with the RFC 8785 JCS, and RFC 8032 Ed25519, of verify.py)

class Invalid(Exception):
    pass

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()

def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()

def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root

def verify_consistency(size1, size2, root1, root2, proof):
    """RFC 9162 §2.1.4.2 (a proof from the empty tree proves nothing)."""
    if not 0 < size1 <= size2:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if not proof:
        return False
    path = [root1] + proof if size1 & (size1 - 1) == 0 else proof
    fn, sn = size1 - 1, size2 - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == root1 and sr == root2

def strict_b64(text):
    """Standard padded base64, in its one canonical form, or None."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None

def parse_note(note):
    """The C2SP checkpoint: (organization_id, size, root, signed bytes, [(key name, key hash, signature)]) or Invalid."""
    parts = note.split("\n\n")
    if len(parts) != 2:
        raise Invalid("not a signed note (no single blank line)")
    lines = parts[0].split("\n")
    if len(lines) != 3:
        raise Invalid("the note body is not origin, size and root")
    origin = re.fullmatch(r"chainproof/(.+)", lines[0])
    if not origin:
        raise Invalid("the origin line is not chainproof/<organization_id>")
    if not re.fullmatch(r"0|[1-9][0-9]{0,15}", lines[1]):
        raise Invalid("the tree size is not a decimal number")
    root = strict_b64(lines[2])
    if root is None or len(root) != 32:
        raise Invalid("the root hash is not 32 bytes of base64")
    sig_lines = parts[1].split("\n")
    if sig_lines.pop() != "" or not sig_lines:
        raise Invalid("the note does not end with a signature line and a newline")
    # C2SP signed-note: one malformed line rejects the note (text appended after a valid signature
    # must not ride along); a line of another key name (a witness's cosignature) is ignored.
    signatures = []
    for line in sig_lines:
        m = re.fullmatch("\u2014 ([^\\s+]+) (\\S+)", line)
        blob = strict_b64(m.group(2)) if m else None
        if not m or blob is None or len(blob) < 5:
            raise Invalid("a signature line is malformed")
        signatures.append((m.group(1), blob[:4], blob[4:]))
    if not any(name == "chainproof" for name, _, _ in signatures):
        raise Invalid("the note has no chainproof signature line")
    return origin.group(1), int(lines[1]), root, (parts[0] + "\n").encode("utf-8"), signatures

def raw_key(x):
    """A JWK's x: the 32-byte Ed25519 public key, or None."""
    try:
        raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None

def key_hash(raw):
    """SHA-256("chainproof" || 0x0A || 0x01 || raw public key)[0..4]: which key a signature line names."""
    return hashlib.sha256(b"chainproof\n\x01" + raw).digest()[:4]

def signer_text(signed, signatures, jwks):
    """The kid of the JWKS key whose chainproof signature line verifies over the note's first three lines, or Invalid."""
    for name, kh, signature in signatures:
        for key in jwks:
            raw = raw_key(key["x"])
            if name != "chainproof" or raw is None or key_hash(raw) != kh:
                continue
            # The line names this key, so its signature decides, whatever a later line says.
            if len(signature) == 64 and ed25519_verify(raw, signed, signature):
                return "Ed25519 by kid %s: valid" % key["kid"]
            raise Invalid("the chainproof signature does not verify under the JWKS key it names")
    raise Invalid("no signature line names a key of the JWKS")

def hex_hash(value, name):
    if not isinstance(value, str) or not re.fullmatch("[0-9a-f]{64}", value):
        raise Invalid("%s is not 64 lowercase hex characters" % name)
    return bytes.fromhex(value)

def hex_list(value, name):
    if not isinstance(value, list):
        raise Invalid("%s is not a list of hex hashes" % name)
    return [hex_hash(h, "%s[%d]" % (name, i)) for i, h in enumerate(value)]

def count(value, name, least):
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise Invalid("%s is not an integer of at least %d" % (name, least))
    return value

def note_of(text):
    """A note file's text: the note itself, or JSON holding it as "checkpoint" or "tree_head"."""
    if not text.lstrip().startswith("{"):
        return text
    value = json.loads(text, object_pairs_hook=strict_pairs)
    note = value.get("checkpoint", value.get("tree_head")) if isinstance(value, dict) else None
    if not isinstance(note, str):
        raise Invalid('no "checkpoint" or "tree_head" text')
    return note

def head_of(note, org, size, what, out):
    origin, n, root, signed, signatures = parse_note(note)
    if origin != org:
        raise Invalid("%s is organization %s's, the answer names %s" % (what, origin, org))
    if n != size:
        raise Invalid("%s has size %d, the answer says %d" % (what, n, size))
    out.append((what, "size %d, root %s" % (n, root.hex())))
    return root, signed, signatures

def check(args, out):
    if args.what == "tree-head":
        origin, size, root, signed, signatures = parse_note(note_of(args.raw))
        out += [("organization", origin), ("tree head", "size %d, root %s" % (size, root.hex())),
                ("signature", signer_text(signed, signatures, args.jwks))]
        return
    answer = json.loads(args.raw, object_pairs_hook=strict_pairs)
    if not isinstance(answer, dict) or not isinstance(answer.get("organization_id"), str) or not isinstance(answer.get("checkpoint"), str):
        raise Invalid('not a proof answer: organization_id and checkpoint must be strings')
    org = answer["organization_id"]
    out.append(("organization", org))
    if args.what == "inclusion":
        index, size = count(answer.get("leaf_index"), "leaf_index", 0), count(answer.get("tree_size"), "tree_size", 1)
        leaf, proof = hex_hash(answer.get("leaf_hash"), "leaf_hash"), hex_list(answer.get("inclusion"), "inclusion")
        root, signed, signatures = head_of(answer["checkpoint"], org, size, "tree head", out)
        if not verify_inclusion(index, size, leaf, proof, root):
            raise Invalid("the inclusion proof of leaf %d does not verify against the tree head's root" % index)
        out.append(("inclusion", "leaf %d (seq %d), %d hashes: valid" % (index, index + 1, len(proof))))
        if args.record is not None:
            row = json.loads(args.record, object_pairs_hook=strict_pairs)
            mine = leaf_hash(canonical(row).encode("utf-8"))
            if row.get("organization_id") != org or row.get("seq") != index + 1:
                raise Invalid("the record is seq %s of %s, the proof is of seq %d of %s" % (row.get("seq"), row.get("organization_id"), index + 1, org))
            if mine != leaf:
                raise Invalid("the record's leaf hash is %s, the proof's leaf_hash %s: the record is not the one proven" % (mine.hex(), leaf.hex()))
            out.append(("record", "seq %d, id %s, leaf hash matches" % (index + 1, row["id"])))
    else:
        first, second = count(answer.get("first"), "first", 1), count(answer.get("second"), "second", 1)
        proof = hex_list(answer.get("consistency"), "consistency")
        root2, signed, signatures = head_of(answer["checkpoint"], org, second, "tree head", out)
        root1, older_signed, older = head_of(note_of(args.first), org, first, "older head", out)
        out.append(("older sig", signer_text(older_signed, older, args.jwks)))
        if not verify_consistency(first, second, root1, root2, proof):
            raise Invalid("the consistency proof from size %d to %d does not verify" % (first, second))
        out.append(("consistency", "size %d -> %d, %d hashes: valid" % (first, second, len(proof))))
    out.append(("signature", signer_text(signed, signatures, args.jwks)))

def read_keys(parser, path):
    keys = read_jwks(read(parser, path, "JWKS"))
    if keys is None:
        parser.error('JWKS %s must look like {"keys":[{"kid":…,"x":…}]} (as served at /.well-known/jwks.json)' % path)
    return keys

def read(parser, path, what):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8")
    except OSError as err:
        parser.error("cannot read %s %s: %s" % (what, path, err.strerror))
    except UnicodeDecodeError:
        parser.error("%s %s is not UTF-8 text" % (what, path))

def main(argv):
    parser = argparse.ArgumentParser(description="Check chainproof's public proofs offline.")
    parser.add_argument("what", choices=["tree-head", "inclusion", "consistency"])
    parser.add_argument("file")
    parser.add_argument("--record", help="inclusion: the record (as the API answers it, or its JSONL line)")
    parser.add_argument("--first", help="consistency: the signed tree head of size first")
    parser.add_argument("--jwks", required=True, help="the public keys (/.well-known/jwks.json): the tree heads' signatures are checked with them")
    args = parser.parse_args(argv)
    if args.record is not None and args.what != "inclusion":
        parser.error("--record belongs to inclusion")
    if (args.first is not None) != (args.what == "consistency"):
        parser.error("consistency needs --first NOTE, and only it takes one")
    args.raw = read(parser, args.file, "file")
    args.record = None if args.record is None else read(parser, args.record, "record")
    args.first = None if args.first is None else read(parser, args.first, "first tree head")
    args.jwks = read_keys(parser, args.jwks)
    out, reason = [], None
    try:
        check(args, out)
    except Invalid as err:
        reason = str(err)
    except DuplicateMember as err:
        reason = "duplicate member %s" % err.name
    except ValueError as err:
        reason = "not valid JSON (%s)" % err
    except (KeyError, TypeError, AttributeError) as err:
        reason = "malformed record (%s: %s)" % (type(err).__name__, err)
    print("proof:        %s" % ("INVALID" if reason else "VALID"))
    for label, text in out:
        print("%-14s%s" % (label + ":", text))
    if reason:
        print("reason:       " + reason)
    return 1 if reason else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
