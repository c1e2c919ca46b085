// The receipt checks of `proofdesk verify`, for a browser, with no server in the loop.
//
// A line-by-line port of src/proofdesk/verify/ (merkle.py, note.py, cosignature.py,
// receipt.py) and of proofdesk.identity.typed.check_receipt: the same checks, in the same
// order, under the same item names, so that tests/web/test_web_verifier.py can demand the same
// verdict and the same failing item from both. Keep the two in step: a change to one is a
// change to the other, and that test fails until both agree.
//
// Tree sizes and indexes are BigInt: the RFC's shifts must not wrap at 32 bits.

import { ed25519 } from "@noble/curves/ed25519.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";

export const RECEIPT_FORMAT = "proofdesk-receipt/v1";
const LEAF_VERSION = 1;
const LEAF_KEYS = ["v", "seq", "org", "ticket", "ticket_seq", "type", "actor", "time", "prev", "commitments"];
const ALG_ED25519 = 0x01;
const ALG_COSIGNATURE_V1 = 0x04;
const SIGNATURE_PREFIX = "\u2014 ";
const MAX_SIGNATURES = 100;
const HASH_SIZE = 32;
const EMPTY_ROOT = sha256(new Uint8Array(0));
const DECIMAL = /^(?:0|[1-9][0-9]{0,19})$/;
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const utf8 = (text) => new TextEncoder().encode(text);

export class VerificationError extends Error {}
export class ProofError extends VerificationError {}
export class NoteError extends VerificationError {}

// --- bytes ----------------------------------------------------------------------------------

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text) {
  if (text.length % 2 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function b64decode(text, what) {
  if (typeof text !== "string" || !B64.test(text)) throw new NoteError(`${what} is not valid base64`);
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function b64encode(bytes) {
  return btoa(String.fromCharCode(...bytes));
}

// --- RFC 9162 §2.1 (merkle.py) --------------------------------------------------------------

export const leafHash = (leaf) => sha256(concat(new Uint8Array([0]), leaf));
const nodeHash = (left, right) => sha256(concat(new Uint8Array([1]), left, right));

function checkHash(name, value) {
  if (!(value instanceof Uint8Array) || value.length !== HASH_SIZE) {
    throw new ProofError(`${name} is not a ${HASH_SIZE}-byte hash`);
  }
}

function step(fn, sn) {
  const left = (fn & 1n) === 1n || fn === sn;
  if (left && !(fn & 1n)) {
    for (;;) {
      fn >>= 1n;
      sn >>= 1n;
      if (fn & 1n || fn === 0n) break;
    }
  }
  return [left, fn >> 1n, sn >> 1n];
}

function rootFromInclusionProof(index, size, leaf, proof) {
  if (!(0n <= index && index < size)) throw new ProofError(`leaf index ${index} is not below tree size ${size}`);
  checkHash("leaf hash", leaf);
  proof.forEach((p, i) => checkHash(`inclusion proof element ${i}`, p));
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  let left;
  for (const p of proof) {
    if (sn === 0n) throw new ProofError("inclusion proof is longer than the path to the root");
    [left, fn, sn] = step(fn, sn);
    r = left ? nodeHash(p, r) : nodeHash(r, p);
  }
  if (sn !== 0n) throw new ProofError("inclusion proof is shorter than the path to the root");
  return r;
}

export function verifyInclusion(index, size, leaf, proof, root) {
  checkHash("root", root);
  if (!equal(rootFromInclusionProof(index, size, leaf, proof), root)) {
    throw new ProofError(`inclusion proof for leaf ${index} does not lead to the root`);
  }
}

export function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  checkHash("first root", firstRoot);
  checkHash("second root", secondRoot);
  proof.forEach((p, i) => checkHash(`consistency proof element ${i}`, p));
  if (!(0n <= first && first <= second)) {
    throw new ProofError(`first size ${first} is not between 0 and second size ${second}`);
  }
  if (first === 0n) {
    if (proof.length) throw new ProofError("a consistency proof from the empty tree must be empty");
    if (!equal(firstRoot, EMPTY_ROOT)) throw new ProofError("the root of the empty tree is not SHA-256 of nothing");
    return;
  }
  if (first === second) {
    if (proof.length) throw new ProofError("a consistency proof between equal sizes must be empty");
    if (!equal(firstRoot, secondRoot)) throw new ProofError("two trees of the same size have different roots");
    return;
  }
  if (!proof.length) throw new ProofError("consistency proof is empty");
  const path = [...proof];
  if ((first & (first - 1n)) === 0n) path.unshift(firstRoot);
  let fn = first - 1n;
  let sn = second - 1n;
  while (fn & 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  let left;
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ProofError("consistency proof is longer than needed");
    [left, fn, sn] = step(fn, sn);
    if (left) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
    } else {
      sr = nodeHash(sr, c);
    }
  }
  if (sn !== 0n) throw new ProofError("consistency proof is shorter than needed");
  if (!equal(fr, firstRoot)) throw new ProofError(`consistency proof does not lead to the root of size ${first}`);
  if (!equal(sr, secondRoot)) throw new ProofError(`consistency proof does not lead to the root of size ${second}`);
}

// --- C2SP signed notes and checkpoints (note.py, cosignature.py) ----------------------------

function checkName(name) {
  // Python's str.isspace() / isprintable(): no white space, no control or format characters.
  if (!name || name.includes("+") || /[\s\p{C}]/u.test(name)) {
    throw new NoteError(`key name '${name}' must be non-empty, printable, without spaces or '+'`);
  }
}

function keyId(name, publicKey, alg) {
  return sha256(concat(utf8(name + "\n"), new Uint8Array([alg]), publicKey)).slice(0, 4);
}

export class Key {
  constructor(name, publicKey, alg) {
    this.name = name;
    this.publicKey = publicKey;
    this.alg = alg;
    this.keyId = keyId(name, publicKey, alg);
  }

  encode() {
    return `${this.name}+${toHex(this.keyId)}+${b64encode(concat(new Uint8Array([this.alg]), this.publicKey))}`;
  }

  equals(other) {
    return this.name === other.name && equal(this.publicKey, other.publicKey);
  }

  static parse(text, alg = ALG_ED25519, what = "verifier key") {
    const trimmed = text.trim();
    const first = trimmed.indexOf("+");
    const second = first < 0 ? -1 : trimmed.indexOf("+", first + 1);
    if (second < 0) throw new NoteError(`a ${what} reads <name>+<key id>+<base64 key>`);
    const [name, idHex, b64] = [trimmed.slice(0, first), trimmed.slice(first + 1, second), trimmed.slice(second + 1)];
    checkName(name);
    const raw = b64decode(b64, what);
    if (raw.length !== 33 || raw[0] !== alg) {
      throw new NoteError(`${what} is not an Ed25519 key of type 0x${alg.toString(16).padStart(2, "0")}`);
    }
    const key = new Key(name, raw.slice(1), alg);
    if (idHex !== toHex(key.keyId)) throw new NoteError(`${what} id does not match its name and key`);
    return key;
  }
}

export const parseWitnessKey = (text) => Key.parse(text, ALG_COSIGNATURE_V1, "witness key");

function ed25519Check(publicKey, message, signature) {
  try {
    // zip215: false is RFC 8032's strict rule, as OpenSSL (Python's cryptography) applies it.
    return signature.length === 64 && ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

function checkText(text) {
  if (!text.endsWith("\n")) throw new NoteError("note text must end with a newline");
  for (const c of text) {
    const code = c.codePointAt(0);
    if (c !== "\n" && (code < 0x20 || code === 0x7f)) throw new NoteError("note text holds a control character");
  }
}

export function splitNote(note) {
  const at = note.lastIndexOf("\n\n");
  if (at < 0) throw new NoteError("note has no blank line before its signatures");
  const text = note.slice(0, at) + "\n";
  const block = note.slice(at + 2);
  checkText(text);
  if (!block.endsWith("\n")) throw new NoteError("note does not end with a newline");
  const signatures = [];
  for (const line of block.slice(0, -1).split("\n")) {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw new NoteError(`malformed signature line '${line}'`);
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(" ");
    const name = space < 0 ? rest : rest.slice(0, space);
    const blob = space < 0 ? "" : rest.slice(space + 1);
    if (space < 0 || blob.includes(" ")) throw new NoteError(`malformed signature line '${line}'`);
    checkName(name);
    const raw = b64decode(blob, "signature");
    if (raw.length < 5) throw new NoteError(`signature of ${name} is too short`);
    signatures.push({ name, keyId: raw.slice(0, 4), signature: raw.slice(4) });
  }
  if (!signatures.length) throw new NoteError("note has no signatures");
  if (signatures.length > MAX_SIGNATURES) throw new NoteError(`note has more than ${MAX_SIGNATURES} signatures`);
  return [text, signatures];
}

function openNote(note, key) {
  const [text, signatures] = splitNote(note);
  const message = utf8(text);
  let found = false;
  for (const sig of signatures) {
    if (sig.name === key.name && equal(sig.keyId, key.keyId)) {
      if (!ed25519Check(key.publicKey, message, sig.signature)) {
        throw new NoteError(`signature of ${key.name} does not verify`);
      }
      found = true;
    }
  }
  if (!found) throw new NoteError(`note is not signed by ${key.name}+${toHex(key.keyId)}`);
  return text;
}

function parseCheckpoint(text) {
  checkText(text);
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new NoteError("a checkpoint has an origin, a size and a root hash line");
  const [origin, size, rootB64, ...extensions] = lines;
  if (!origin) throw new NoteError("checkpoint origin is empty");
  if (!DECIMAL.test(size) || BigInt(size) >= 2n ** 63n) {
    throw new NoteError(`checkpoint size '${size}' is not a decimal number`);
  }
  const root = b64decode(rootB64, "checkpoint root hash");
  if (root.length !== 32) throw new NoteError("checkpoint root hash is not 32 bytes");
  if (extensions.some((line) => !line)) throw new NoteError("checkpoint has an empty extension line");
  return { origin, size: BigInt(size), root, extensions };
}

export function openCheckpoint(note, key, origin) {
  const checkpoint = parseCheckpoint(openNote(note, key));
  const expected = origin ?? key.name;
  if (checkpoint.origin !== expected) {
    throw new NoteError(`checkpoint origin '${checkpoint.origin}' is not '${expected}'`);
  }
  return checkpoint;
}

function cosignatureTimestamp(key, text, sig) {
  if (sig.signature.length !== 8 + 64) throw new NoteError(`cosignature of ${key.name} is not 72 bytes`);
  let timestamp = 0n;
  for (const b of sig.signature.slice(0, 8)) timestamp = (timestamp << 8n) | BigInt(b);
  if (timestamp > 2n ** 63n - 1n) throw new NoteError(`cosignature timestamp ${timestamp} is out of range`);
  const message = concat(utf8(`cosignature/v1\ntime ${timestamp}\n`), utf8(text));
  if (!ed25519Check(key.publicKey, message, sig.signature.slice(8))) {
    throw new NoteError(`cosignature of ${key.name} does not verify`);
  }
  return timestamp;
}

export function cosignatures(note, keys) {
  const [text, signatures] = splitNote(note);
  const found = new Map();
  for (const key of keys) {
    for (const sig of signatures) {
      if (sig.name === key.name && equal(sig.keyId, key.keyId)) {
        found.set(key.encode(), cosignatureTimestamp(key, text, sig));
      }
    }
  }
  return found;
}

// --- receipts (receipt.py) ------------------------------------------------------------------

class Report {
  constructor() {
    this.checks = [];
    this.revealed = [];
    this.checkpoint = null;
    this.key = null;
    this.warnings = [];
    this.anchoredSize = 0n;
  }

  get ok() {
    return this.checks.length > 0 && this.checks.every((c) => c.ok);
  }

  get failures() {
    return this.checks.filter((c) => !c.ok);
  }

  passed(item, detail = "") {
    this.checks.push({ item, ok: true, detail });
  }

  failed(item, detail) {
    this.checks.push({ item, ok: false, detail });
  }
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isInt = (v) => typeof v === "number" && Number.isInteger(v);

function get(obj, key, kind, where) {
  if (!isObject(obj) || !Object.hasOwn(obj, key)) throw new VerificationError(`${where}: missing '${key}'`);
  const value = obj[key];
  const fits = { str: typeof value === "string", int: isInt(value), dict: isObject(value), list: Array.isArray(value) }[kind];
  if (!fits) throw new VerificationError(`${where}: '${key}' has the wrong type`);
  return value;
}

function hexArg(text, where, size = 32) {
  if (typeof text !== "string") throw new VerificationError(`${where} is not a hex string`);
  const raw = fromHex(text);
  if (raw === null) throw new VerificationError(`${where} is not hex`);
  if (size !== null && raw.length !== size) throw new VerificationError(`${where} is not ${size} bytes`);
  return raw;
}

// Python's == between JSON values of the leaf and what the receipt says they must be.
function pyEqual(a, b) {
  const num = (v) => (typeof v === "boolean" ? Number(v) : v);
  return num(a) === num(b);
}

const repr = (v) => (typeof v === "string" ? `'${v}'` : JSON.stringify(v));

function parseLeaf(record) {
  let leaf;
  try {
    leaf = JSON.parse(record);
  } catch {
    throw new VerificationError("leaf record is not JSON");
  }
  if (!isObject(leaf) || Object.keys(leaf).length !== LEAF_KEYS.length || !LEAF_KEYS.every((k) => Object.hasOwn(leaf, k))) {
    throw new VerificationError("leaf record does not have the leaf fields");
  }
  if (!pyEqual(leaf.v, LEAF_VERSION)) throw new VerificationError(`leaf record version ${repr(leaf.v)} is not ${LEAF_VERSION}`);
  if (!isObject(leaf.commitments)) throw new VerificationError("leaf commitments are not an object");
  return leaf;
}

/**
 * Check a receipt (parsed JSON); nothing throws, every finding is in the report.
 * options: key (a Key pinned by the user, or null: the receipt's own, with a warning),
 * checkpointNote, sinceNote, witnesses (Keys of type 0x04), minWitnesses.
 */
export function verifyReceipt(receipt, options = {}) {
  const { key = null, checkpointNote = null, sinceNote = null, witnesses = [], minWitnesses = 0 } = options;
  const report = new Report();
  try {
    verify(receipt, report, key, checkpointNote, sinceNote);
    if (witnesses.length || minWitnesses) verifyWitnesses(receipt, report, witnesses, minWitnesses);
  } catch (exc) {
    if (!(exc instanceof VerificationError)) throw exc;
    report.failed("receipt", exc.message);
  }
  return report;
}

function verifyWitnesses(receipt, report, witnesses, minWitnesses) {
  if (report.checkpoint === null) return;
  let found;
  try {
    found = cosignatures(get(receipt, "checkpoint", "str", "receipt"), witnesses);
  } catch (exc) {
    if (!(exc instanceof NoteError)) throw exc;
    report.failed("witnesses", exc.message);
    return;
  }
  const names = [...found.keys()].map((k) => k.split("+", 1)[0]).sort().join(", ") || "none";
  const detail = `${found.size} of ${witnesses.length} given witnesses cosigned (${names})`;
  if (found.size >= minWitnesses) report.passed("witnesses", `${detail}; at least ${minWitnesses} needed`);
  else report.failed("witnesses", `${detail}; ${minWitnesses} needed`);
}

function verify(receipt, report, key, checkpointNote, sinceNote) {
  if (get(receipt, "format", "str", "receipt") !== RECEIPT_FORMAT) {
    throw new VerificationError(`format is not '${RECEIPT_FORMAT}'`);
  }
  const log = get(receipt, "log", "dict", "receipt");
  let embedded;
  try {
    embedded = Key.parse(get(log, "verifier_key", "str", "log"));
  } catch (exc) {
    if (!(exc instanceof NoteError)) throw exc;
    throw new VerificationError(`log verifier key: ${exc.message}`);
  }
  if (key === null) {
    key = embedded;
    report.warnings.push(
      "the log's key was taken from the receipt itself; pin it to be sure whose log this is",
    );
  } else if (!key.equals(embedded)) {
    report.failed("log key", `the receipt names key ${embedded.encode()}, not the pinned one`);
    return;
  }
  report.key = key;
  const origin = get(log, "origin", "str", "log");
  let cp;
  try {
    cp = openCheckpoint(get(receipt, "checkpoint", "str", "receipt"), key, origin);
  } catch (exc) {
    if (!(exc instanceof NoteError)) throw exc;
    report.failed("checkpoint", exc.message);
    return;
  }
  report.checkpoint = cp;
  report.passed("checkpoint", `signed by ${key.name}, size ${cp.size}`);

  if (checkpointNote !== null) {
    let other = null;
    try {
      other = openCheckpoint(checkpointNote, key, origin);
    } catch (exc) {
      if (!(exc instanceof NoteError)) throw exc;
      report.failed("given checkpoint", exc.message);
    }
    if (other !== null) {
      if (other.size === cp.size && equal(other.root, cp.root)) {
        report.passed("given checkpoint", "matches the receipt's checkpoint");
      } else {
        report.failed(
          "given checkpoint",
          `size ${other.size} root ${toHex(other.root)} is not the receipt's size ${cp.size} root ${toHex(cp.root)}`,
        );
      }
    }
  }
  if (sinceNote !== null) checkSince(receipt, report, key, origin, cp, sinceNote);

  const anchor = receipt.anchor;
  if (anchor !== undefined && anchor !== null) checkAnchor(anchor, report, cp);

  const ticketId = get(receipt, "ticket_id", "str", "receipt");
  const entries = get(receipt, "entries", "list", "receipt");
  if (!entries.length) throw new VerificationError("receipt has no entries");
  let prevHash = null;
  entries.forEach((entry, position) => {
    checkEntry(entry, position, ticketId, prevHash, cp, report);
    prevHash = leafHash(utf8(entry.leaf));
  });
}

function checkAnchor(anchor, report, cp) {
  if (!isObject(anchor)) throw new VerificationError("anchor is not an object");
  const size = BigInt(get(anchor, "tree_size", "int", "anchor"));
  const root = hexArg(get(anchor, "root", "str", "anchor"), "anchor root");
  get(anchor, "chain_id", "int", "anchor");
  get(anchor, "tx_hash", "str", "anchor");
  const hashes = get(anchor, "consistency_proof", "list", "anchor");
  const proof = hashes.map((h, i) => hexArg(h, `anchor consistency proof element ${i}`));
  if (!(0n < size && size <= cp.size)) {
    report.failed("anchor", `anchored size ${size} is not between 1 and ${cp.size}`);
    return;
  }
  try {
    verifyConsistency(size, cp.size, root, cp.root, proof);
  } catch (exc) {
    if (!(exc instanceof ProofError)) throw exc;
    report.failed("anchor", `the checkpoint does not extend the anchored tree: ${exc.message}`);
    return;
  }
  report.anchoredSize = size;
  report.passed(
    "anchor",
    `the checkpoint extends the tree of size ${size} anchored on chain ${anchor.chain_id} in tx ${anchor.tx_hash}`,
  );
}

function checkSince(receipt, report, key, origin, cp, sinceNote) {
  let old;
  try {
    old = openCheckpoint(sinceNote, key, origin);
  } catch (exc) {
    if (!(exc instanceof NoteError)) throw exc;
    report.failed("older checkpoint", exc.message);
    return;
  }
  if (old.size > cp.size) {
    report.failed(
      "consistency",
      `the receipt's checkpoint (size ${cp.size}) is older than yours (size ${old.size}): the log was rolled back or this receipt is stale`,
    );
    return;
  }
  const consistency = receipt.consistency;
  let proof;
  if ((old.size === 0n || old.size === cp.size) && (consistency === undefined || consistency === null)) {
    proof = [];
  } else {
    if (!isObject(consistency)) {
      report.failed("consistency", `the receipt has no consistency proof; ask for it with since=${old.size}`);
      return;
    }
    const first = get(consistency, "first", "int", "consistency");
    if (BigInt(first) !== old.size) {
      report.failed("consistency", `the receipt's proof starts at size ${first}, not ${old.size}`);
      return;
    }
    const hashes = get(consistency, "proof", "list", "consistency");
    proof = hashes.map((h, i) => hexArg(h, `consistency proof element ${i}`));
  }
  try {
    verifyConsistency(old.size, cp.size, old.root, cp.root, proof);
  } catch (exc) {
    if (!(exc instanceof ProofError)) throw exc;
    report.failed("consistency", `size ${old.size} to ${cp.size}: ${exc.message} (a fork)`);
    return;
  }
  report.passed("consistency", `size ${old.size} is a prefix of size ${cp.size}`);
}

function checkEntry(entry, position, ticketId, prevHash, cp, report) {
  const where = `entry ${position}`;
  const index = get(entry, "index", "int", where);
  const record = get(entry, "leaf", "str", where);
  const item = `leaf ${index}`;
  const hashes = get(entry, "inclusion_proof", "list", where);
  const proof = hashes.map((h, i) => hexArg(h, `${item} inclusion proof element ${i}`));
  const h = leafHash(utf8(record));
  try {
    if (index < 0) throw new ProofError(`leaf index ${index} is not below tree size ${cp.size}`);
    verifyInclusion(BigInt(index), cp.size, h, proof, cp.root);
    report.passed(item, "included in the checkpoint");
  } catch (exc) {
    if (!(exc instanceof ProofError)) throw exc;
    report.failed(item, `not in the log: ${exc.message}`);
  }
  const leaf = parseLeaf(record);
  const expected = { seq: index, ticket: ticketId, ticket_seq: position + 1 };
  for (const [name, value] of Object.entries(expected)) {
    if (!pyEqual(leaf[name], value)) report.failed(item, `leaf ${name} is ${repr(leaf[name])}, expected ${repr(value)}`);
  }
  if (position === 0) {
    if (leaf.prev !== null) report.failed(item, "the first event of a ticket must not have a predecessor");
  } else if (leaf.prev === null || prevHash === null || !equal(hexArg(leaf.prev, `${item} prev`), prevHash)) {
    report.failed(item, "hash chain broken: prev is not the hash of the previous leaf");
  } else {
    report.passed(`${item} chain`, "follows the previous leaf");
  }
  const revealed = Object.hasOwn(entry, "revealed") ? entry.revealed : {};
  if (!isObject(revealed)) throw new VerificationError(`${where}: revealed is not an object`);
  // (JSON.parse makes a "__proto__" key an own property, so Object.keys sees it as Python does.)
  for (const name of Object.keys(revealed).sort()) checkOpening(item, leaf, name, revealed[name], index, report);
}

function checkOpening(item, leaf, name, opening, index, report) {
  const where = `${item} field '${name}'`;
  const committed = Object.hasOwn(leaf.commitments, name) ? leaf.commitments[name] : null;
  if (committed === null) {
    report.failed(where, "revealed but not committed to in the leaf");
    return;
  }
  const salt = hexArg(get(opening, "salt", "str", where), `${where} salt`, null);
  const valueJson = get(opening, "value", "str", where);
  if (toHex(sha256(concat(salt, utf8(valueJson)))) !== committed) {
    report.failed(where, "the revealed value does not match its commitment");
    return;
  }
  let value;
  try {
    value = JSON.parse(valueJson);
  } catch {
    throw new VerificationError(`${where}: value is not JSON`);
  }
  report.revealed.push({ index, name, value });
  report.passed(where, "matches its commitment");
}

// --- EIP-712 signed submissions (identity/typed.py) -----------------------------------------

const ACTIONS = { "ticket.create": ["kind", "subject", "body"], "message.add": ["body"] };
const DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
const SUBMISSION_TYPE =
  "Submission(string action,string organization,string ticket,string requestId,bytes32 contentHash,uint256 nonce,uint256 issuedAt)";

/** RFC 8785 canonical JSON: sorted keys (UTF-16 order), ECMAScript numbers and strings. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function uint256(value) {
  const text = String(value).trim();
  if (!/^[+]?[0-9]+$/.test(text)) throw new Error("not an integer");
  const n = BigInt(text.replace("+", ""));
  if (n >= 2n ** 256n) throw new Error("out of range");
  return word(n);
}

function word(n) {
  return fromHex(n.toString(16).padStart(64, "0"));
}

function address(text) {
  if (!/^0x[0-9a-fA-F]{40}$/.test(text)) throw new Error("not an address");
  return concat(new Uint8Array(12), fromHex(text.slice(2)));
}

function recover(record, content) {
  try {
    const raw = fromHex(String(record.signature).replace(/^0x/, ""));
    if (raw === null || raw.length !== 65) return null;
    const domain = keccak_256(
      concat(
        keccak_256(utf8(DOMAIN_TYPE)),
        keccak_256(utf8("ProofDesk")),
        keccak_256(utf8("1")),
        uint256(record.chain_id),
        address(String(record.verifying_contract)),
      ),
    );
    const message = keccak_256(
      concat(
        keccak_256(utf8(SUBMISSION_TYPE)),
        keccak_256(utf8(String(record.action))),
        keccak_256(utf8(String(record.organization))),
        keccak_256(utf8(String(record.ticket))),
        keccak_256(utf8(String(record.request_id))),
        keccak_256(utf8(canonicalJson(content))),
        uint256(record.nonce),
        uint256(record.issued_at),
      ),
    );
    const digest = keccak_256(concat(new Uint8Array([0x19, 0x01]), domain, message));
    let v = raw[64];
    if (v >= 27) v -= 27;
    if (v !== 0 && v !== 1) return null;
    const signature = secp256k1.Signature.fromBytes(raw.slice(0, 64), "compact").addRecoveryBit(v);
    const point = signature.recoverPublicKey(digest).toBytes(false);
    return "0x" + toHex(keccak_256(point.slice(1)).slice(12));
  } catch {
    return null;
  }
}

/** Findings {item, ok, detail} for every signed submission a receipt reveals. */
export function checkSignatures(receipt) {
  const findings = [];
  const entries = isObject(receipt) ? receipt.entries : undefined;
  if (!Array.isArray(entries)) return findings;
  let ticketFields = null;
  for (const entry of entries) {
    const revealed = isObject(entry) ? entry.revealed : undefined;
    if (!isObject(revealed)) continue;
    const values = Object.create(null); // a revealed "__proto__" is a field like any other
    for (const [name, opening] of Object.entries(revealed)) {
      try {
        if (typeof opening.value !== "string") throw new TypeError("not JSON text");
        values[name] = JSON.parse(opening.value);
      } catch {
        continue;
      }
    }
    if (ticketFields === null && "kind" in values && "subject" in values) {
      ticketFields = { kind: values.kind, subject: values.subject };
    }
    const record = values.signature;
    if (!isObject(record)) continue;
    const item = `signature of event ${entry.index}`;
    const fields = ["signer", "signature", "action", "organization", "ticket", "request_id", "nonce", "issued_at", "chain_id", "verifying_contract"];
    const names = Object.hasOwn(ACTIONS, record.action) ? ACTIONS[record.action] : undefined;
    if (!fields.every((f) => Object.hasOwn(record, f)) || names === undefined) {
      findings.push({ item, ok: false, detail: "malformed signature record" });
      continue;
    }
    const content = { ...(ticketFields ?? {}), ...values };
    const missing = names.filter((n) => !(n in content));
    if (missing.length) {
      findings.push({ item, ok: false, detail: `the receipt does not reveal ${missing.join(", ")}` });
      continue;
    }
    const signer = recover(record, Object.fromEntries(names.map((n) => [n, content[n]])));
    if (signer !== null && signer.toLowerCase() === String(record.signer).toLowerCase()) {
      findings.push({ item, ok: true, detail: `${record.action} signed by ${record.signer}` });
    } else {
      findings.push({ item, ok: false, detail: `the signature is not ${record.signer}'s` });
    }
  }
  return findings;
}

/** What `proofdesk verify` does with a receipt's text: its verdict and every check. */
export function verifyText(text, options = {}) {
  let receipt;
  try {
    receipt = JSON.parse(text);
  } catch {
    return { verdict: "unreadable", detail: "this is not JSON: not a receipt", report: null };
  }
  const report = verifyReceipt(receipt, options);
  if (report.ok) {
    for (const f of checkSignatures(receipt)) (f.ok ? report.passed : report.failed).call(report, f.item, f.detail);
  }
  return { verdict: report.ok ? "valid" : "invalid", detail: "", report, receipt };
}
