// Shared test helpers: locate the native binaries, run a local yz cluster on
// free loopback ports, read golden vectors, small HTTP helpers.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoDir = path.resolve(webDir, '..');

// The directory holding yz, yz-node and yz-bootstrap: $YZ_BIN_DIR, else the
// first of build/, build-web/ that has all three.
export function findBinDir() {
  const candidates = [process.env.YZ_BIN_DIR, path.join(repoDir, 'build'), path.join(repoDir, 'build-web')].filter(Boolean);
  for (const dir of candidates) {
    if (['yz', 'yz-node', 'yz-bootstrap'].every((b) => existsSync(path.join(dir, b)))) return dir;
  }
  throw new Error(`no yz binaries in ${candidates.join(', ')}: run web/scripts/test-all.sh (it builds them) ` +
    'or set YZ_BIN_DIR');
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

// A run of `count` consecutive free ports on 127.0.0.1.
export async function freePorts(count) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

// Starts `yz cluster up` (bootstrap + genesis + bridges + DHT nodes) and
// returns its nodes; down() stops them and removes the directory.
export async function startCluster({ nodes = 5, bridges = 2 } = {}) {
  const bin = findBinDir();
  const total = nodes + bridges + 2;
  const base = await freePorts(total);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'yz-web-cluster-'));
  const args = ['cluster', 'up', '--nodes', String(nodes), '--bridges', String(bridges), '--base-port', String(base),
    '--dir', dir, '--health-timeout', '60',
    // A fresh network is all healthy after one self-lookup round: keep it short.
    '--node-arg=--self-lookup-interval-ms=5000'];
  const run = spawnSync(path.join(bin, 'yz'), args, { encoding: 'utf8', timeout: 90_000 });
  const down = () => {
    spawnSync(path.join(bin, 'yz'), ['cluster', 'down', '--dir', dir], { encoding: 'utf8', timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  if (run.status !== 0) {
    const out = `${run.stdout ?? ''}\n${run.stderr ?? ''}`;
    down();
    throw new Error(`yz cluster up failed (exit ${run.status}):\n${out}`);
  }
  const info = JSON.parse(readFileSync(path.join(dir, 'cluster.json'), 'utf8'));
  const byName = Object.fromEntries(info.nodes.map((n) => [n.name, n]));
  return { dir, base, bin, nodes: info.nodes, byName, down };
}

export async function httpJson(url, init) {
  const res = await fetch(url, init);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

// Reads a vector file: blank lines and '#' comments skipped, words split.
export function readVectors(name) {
  const text = readFileSync(path.join(repoDir, 'tests', 'vectors', name), 'utf8');
  return text
    .split('\n')
    .map((line, i) => ({ line: i + 1, words: line.trim().split(/\s+/) }))
    .filter((l) => l.words[0] && !l.words[0].startsWith('#'));
}

export function hexToBytes(hex) {
  if (hex === '-') return new Uint8Array(0);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function spawnNode(args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: webDir, ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value or the time is up.
export async function eventually(fn, { timeoutMs = 10_000, intervalMs = 100 } = {}) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    last = await fn();
    if (last) return last;
    await sleep(intervalMs);
  }
  return last;
}
