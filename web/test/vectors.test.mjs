// Golden vectors (tests/vectors, shared with the native build) through the
// WebAssembly codec: every frame decodes to the message vectors_test.cpp builds
// and re-encodes to the same bytes; every malformed frame is refused with the
// named error kind. Also checks the wasm SHA-256 against node:crypto.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import { loadCore, loadSodiumCrypto } from '../dist/index.js';
import { hexToBytes, readVectors } from './helpers.mjs';

const counting = (first, n) => Buffer.from(Array.from({ length: n }, (_, i) => (first + i) & 0xff)).toString('hex');
const A = counting(0x01, 32);
const B = counting(0x21, 32);
const text = (s) => Buffer.from(s, 'utf8').toString('hex');

// The same messages as expected_frames() in tests/unit/core/vectors_test.cpp,
// in the bridge's JSON rendering.
const expected = {
  hello_dht: { type: 'hello', request_id: 0, version_min: 1, version_max: 1, role: 'dht', public_key: A,
    addresses: ['ws://127.0.0.1:7001/'], build_id: '0.1.0', nonce: B },
  hello_browser_no_addresses: { type: 'hello', request_id: 0, version_min: 1, version_max: 3, role: 'browser',
    public_key: B, addresses: [], build_id: '', nonce: A },
  auth: { type: 'auth', request_id: 0, signature: counting(0x01, 64) },
  goodbye_normal: { type: 'goodbye', request_id: 0, code: 4000, reason: 'shutting down' },
  goodbye_incompatible_version: { type: 'goodbye', request_id: 0, code: 4001,
    reason: 'peer speaks 2..3, we speak 1..1: upgrade this node' },
  goodbye_future_code_empty_reason: { type: 'goodbye', request_id: 0, code: 4999, reason: '' },
  goodbye_utf8_reason: { type: 'goodbye', request_id: 0, code: 4000, reason: 'au revoir \u2713' },
  error_stale_value: { type: 'error', request_id: 7, code: 7, message: 'a newer version is held' },
  error_unknown_type: { type: 'error', request_id: 0x01020304, code: 1, message: 'unknown message type 0x7f' },
  error_future_code: { type: 'error', request_id: 9, code: 300, message: '' },
  ping: { type: 'ping', request_id: 1 },
  ping_max_request_id: { type: 'ping', request_id: 0xffffffff },
  pong: { type: 'pong', request_id: 1 },
  find_node: { type: 'find_node', request_id: 2, target: A },
  nodes_empty: { type: 'nodes', request_id: 3, contacts: [] },
  nodes_two_contacts: { type: 'nodes', request_id: 3, contacts: [
    { id: A, role: 'dht', addresses: ['ws://10.0.0.1:7001/', 'wss://example.org/node1'] },
    { id: B, role: 'browser', addresses: [] }] },
  store: { type: 'store', request_id: 4, key: A, seq: 1, ttl_seconds: 3600, value: text('hello') },
  store_empty_value: { type: 'store', request_id: 5, key: B, seq: 0, ttl_seconds: 1, value: '' },
  store_ack: { type: 'store_ack', request_id: 4 },
  store_ack_with_contacts: { type: 'store_ack', request_id: 4, contacts: [
    { id: B, role: 'dht', addresses: ['ws://10.0.0.1:7001/'] }] },
  find_value: { type: 'find_value', request_id: 6, key: A },
  value: { type: 'value', request_id: 6, key: A, seq: 1, ttl_seconds: 3599, value: text('hello') },
  peers_request: { type: 'peers_request', request_id: 8, max_peers: 16 },
  routed_reply_carrying_ping: { type: 'routed', request_id: 0, source: A, destination: B,
    message_id: '0807060504030201', hop_limit: 32, flags: 1, source_key: A, signature: counting(0x01, 64),
    payload: '1005000000' },
  signal: { type: 'signal', request_id: 9, data: 'v=0' },
  ack: { type: 'ack', request_id: 9 },
  dial_request: { type: 'dial_request', request_id: 10, addresses: ['ws://127.0.0.1:7001/'] },
  relay_open: { type: 'relay_open', request_id: 11, peer: A },
  relay_data: { type: 'relay_data', request_id: 0, peer: B, payload: '010203' },
  relay_close: { type: 'relay_close', request_id: 0, peer: A, reason: 'relay full' },
  relay_close_no_reason: { type: 'relay_close', request_id: 0, peer: A, reason: '' },
  neighbours: { type: 'neighbours', request_id: 0, ids: [A, B] },
  neighbours_empty: { type: 'neighbours', request_id: 0, ids: [] },
};

let core;
before(async () => {
  core = await loadCore({ crypto: await loadSodiumCrypto() });
});

test('every golden frame decodes to its message and re-encodes to the same bytes', () => {
  const seen = new Set();
  for (const { line, words } of readVectors('frames.txt')) {
    assert.equal(words.length, 2, `frames.txt line ${line}: '<name> <hex>'`);
    const [name, hex] = words;
    assert.ok(!seen.has(name), `${name} appears twice`);
    seen.add(name);
    const report = core.codecCheck(hexToBytes(hex));
    assert.equal(report.ok, true, `${name} failed to decode: ${report.detail}`);
    assert.equal(report.reencoded, hex.toLowerCase(), `${name} re-encodes differently`);
    assert.ok(name in expected, `${name} has no expected message in this test`);
    assert.deepEqual(report.message, expected[name], `${name} decodes to a different message`);
  }
  for (const name of Object.keys(expected)) assert.ok(seen.has(name), `${name} is missing from frames.txt`);
});

test('every malformed frame is refused with the named error kind', () => {
  const lines = readVectors('malformed.txt');
  assert.ok(lines.length > 20, 'malformed.txt has its vectors');
  for (const { line, words } of lines) {
    assert.equal(words.length, 3, `malformed.txt line ${line}: '<name> <kind> <hex>'`);
    const [name, kind, hex] = words;
    const report = core.codecCheck(hexToBytes(hex));
    assert.equal(report.ok, false, `${name} decoded but must be refused`);
    assert.equal(report.kind, kind, `${name}: ${report.detail}`);
    assert.ok(typeof report.detail === 'string' && report.detail.length > 0 || kind === 'empty', `${name} explains itself`);
  }
});

test('a frame above 128 KiB is refused as too_large before anything else', () => {
  const frame = new Uint8Array(128 * 1024 + 1);
  frame[0] = 0x10;
  assert.equal(core.codecCheck(frame).kind, 'too_large');
  assert.equal(core.maxFrameSize, 131072);
  assert.equal(core.maxValueSize, 65536);
});

test('the wasm SHA-256 matches FIPS 180-4 examples and node:crypto', () => {
  const abc = core.sha256Hex(new TextEncoder().encode('abc'));
  assert.equal(abc, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const empty = core.sha256Hex(new Uint8Array(0));
  assert.equal(empty, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  const two = core.sha256Hex(new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'));
  assert.equal(two, '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  // Every padding case (lengths around the 55/56/64-byte boundaries) and a large input.
  for (const len of [...Array(200).keys(), 1000, 4095, 4096, 65537]) {
    const data = randomBytes(len);
    assert.equal(core.sha256Hex(data), createHash('sha256').update(data).digest('hex'), `length ${len}`);
  }
});
