// A node identity: an Ed25519 key pair from a 32-byte seed; the node id is
// SHA-256 of the public key (docs/protocol.md), reported by YzNode.id. Browsers keep the seed per
// origin in IndexedDB, or per tab in sessionStorage; Node.js keeps it in memory
// or in a file (web/src/node.ts, same hex format as yz-node --identity).
//
// Two tabs must never run the same identity at once: the network keeps one
// link per node id, so the second tab would keep displacing the first. A Web
// Lock named after the identity guards it; a tab that cannot take the lock
// falls back to a fresh per-tab identity and says so in `source`.
import { toHex, fromHex, type CryptoProvider } from './crypto.js';

export class Identity {
  private constructor(
    readonly seed: Uint8Array,
    readonly publicKey: Uint8Array,
    readonly secretKey: Uint8Array,
    readonly source: string,
    private readonly releaseFn: () => void = () => {},
  ) {}

  static fromSeed(crypto: CryptoProvider, seed: Uint8Array, source = 'given seed', release?: () => void): Identity {
    if (seed.length !== 32) throw new Error(`an identity seed is 32 bytes, got ${seed.length}`);
    const pair = crypto.keyPairFromSeed(seed);
    return new Identity(Uint8Array.from(seed), pair.publicKey, pair.secretKey, source, release);
  }

  static generate(crypto: CryptoProvider, source = 'fresh in-memory identity', release?: () => void): Identity {
    const seed = new Uint8Array(32);
    crypto.randomBytes(seed);
    return Identity.fromSeed(crypto, seed, source, release);
  }

  // Lets another tab or node use this identity (its lock is dropped).
  release(): void {
    this.releaseFn();
  }
}

// 'origin': one identity per origin, kept across reloads and restarts (IndexedDB).
// 'tab': one per tab, kept across reloads of that tab (sessionStorage).
// 'ephemeral': a new identity every start.
export type BrowserIdentityScope = 'origin' | 'tab' | 'ephemeral';

interface LockManagerLike {
  request(name: string, options: { ifAvailable: boolean }, cb: (lock: unknown) => Promise<void>): Promise<void>;
}

// Tries to hold the named Web Lock until release() is called; resolves to the
// release function, or null when another tab holds it. Without Web Locks
// (old browsers, Node.js) the identity is used unguarded.
async function tryLock(name: string): Promise<(() => void) | null> {
  const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
  if (!locks) return () => {};
  return new Promise((resolve) => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    locks
      .request(name, { ifAvailable: true }, async (lock) => {
        if (!lock) {
          resolve(null);
          return;
        }
        resolve(release);
        await held;
      })
      .catch(() => resolve(() => {}));
  });
}

function idbRequest<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function idbSeed(dbName: string, make: () => Uint8Array): Promise<Uint8Array> {
  const open = indexedDB.open(dbName, 1);
  open.onupgradeneeded = () => open.result.createObjectStore('keys');
  const db = await idbRequest(open);
  try {
    const existing = await idbRequest(db.transaction('keys', 'readonly').objectStore('keys').get('ed25519-seed'));
    if (existing instanceof Uint8Array && existing.length === 32) return existing;
    const seed = make();
    const tx = db.transaction('keys', 'readwrite');
    tx.objectStore('keys').put(seed, 'ed25519-seed');
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    return seed;
  } finally {
    db.close();
  }
}

export interface BrowserIdentityOptions {
  scope?: BrowserIdentityScope;
  dbName?: string; // IndexedDB database (default "yz")
}

export async function loadBrowserIdentity(crypto: CryptoProvider, options: BrowserIdentityOptions = {}): Promise<Identity> {
  const scope = options.scope ?? 'origin';
  const dbName = options.dbName ?? 'yz';
  const fresh = () => {
    const seed = new Uint8Array(32);
    crypto.randomBytes(seed);
    return seed;
  };
  const perTab = async (why: string): Promise<Identity> => {
    const store = (globalThis as { sessionStorage?: Storage }).sessionStorage;
    const key = `${dbName}-identity-seed`;
    const saved = store?.getItem(key);
    let seed = saved ? fromHex(saved) : null;
    if (seed && seed.length === 32) {
      // A duplicated tab inherits sessionStorage: the lock tells the copies apart.
      const release = await tryLock(`${dbName}-identity-${toHex(seed).slice(0, 16)}`);
      if (release) return Identity.fromSeed(crypto, seed, `per-tab identity (sessionStorage)${why}`, release);
      why = ' (the stored one is in use by a duplicated tab)';
    }
    seed = fresh();
    store?.setItem(key, toHex(seed));
    const release = (await tryLock(`${dbName}-identity-${toHex(seed).slice(0, 16)}`)) ?? (() => {});
    return Identity.fromSeed(crypto, seed, `new per-tab identity${why}`, release);
  };

  if (scope === 'ephemeral') return Identity.generate(crypto, 'ephemeral identity');
  if (scope === 'tab') return perTab('');
  if (typeof indexedDB === 'undefined') return perTab(' (IndexedDB unavailable)');
  const release = await tryLock(`${dbName}-identity-origin`);
  if (!release) return perTab(' (another tab of this origin holds the origin identity)');
  try {
    const seed = await idbSeed(dbName, fresh);
    return Identity.fromSeed(crypto, seed, 'origin identity (IndexedDB)', release);
  } catch (err) {
    release();
    return perTab(` (IndexedDB failed: ${(err as Error)?.message ?? err})`);
  }
}
