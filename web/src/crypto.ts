// The cryptography the core takes from JS: Ed25519 sign and verify, both
// synchronous (the engine calls them in the middle of a handshake), plus
// secure random bytes. SHA-256 runs inside the wasm core (web/src/cpp/sha256.cpp):
// the standard libsodium.js build does not export it. The default provider is
// libsodium.js, synchronous once `sodium.ready` has resolved. WebCrypto is not
// used because its sign/verify are asynchronous.

export interface KeyPair {
  publicKey: Uint8Array; // 32 bytes
  secretKey: Uint8Array; // 64 bytes (libsodium layout: seed || public key)
}

export interface CryptoProvider {
  readonly name: string;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  keyPairFromSeed(seed: Uint8Array): KeyPair;
  randomBytes(out: Uint8Array): void;
  // XChaCha20-Poly1305 (IETF), no additional data; open returns null when the tag fails.
  seal(key: Uint8Array, nonce: Uint8Array, message: Uint8Array): Uint8Array;
  open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array | null;
  // X25519 between our Ed25519 secret key and a peer's Ed25519 public key; null for an invalid key.
  agree(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array | null;
}

type Sodium = {
  ready: Promise<void>;
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  crypto_sign_detached(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  crypto_sign_seed_keypair(seed: Uint8Array): { publicKey: Uint8Array; privateKey: Uint8Array };
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    message: Uint8Array, ad: null, secretNonce: null, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  crypto_aead_xchacha20poly1305_ietf_decrypt(
    secretNonce: null, ciphertext: Uint8Array, ad: null, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  crypto_sign_ed25519_sk_to_curve25519(secretKey: Uint8Array): Uint8Array;
  crypto_sign_ed25519_pk_to_curve25519(publicKey: Uint8Array): Uint8Array;
  crypto_scalarmult(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
};

function randomBytes(out: Uint8Array): void {
  // getRandomValues fills at most 65536 bytes per call.
  for (let i = 0; i < out.length; i += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(i, Math.min(out.length, i + 65536)));
  }
}

let sodiumProvider: Promise<CryptoProvider> | null = null;

// libsodium.js (npm `libsodium-wrappers`). In a browser without a bundler the
// page needs an import map for `libsodium-wrappers` and `libsodium` (web/README.md).
export function loadSodiumCrypto(): Promise<CryptoProvider> {
  sodiumProvider ??= (async () => {
    const imported = (await import('libsodium-wrappers')) as unknown as { default?: Sodium } & Sodium;
    const sodium: Sodium = imported.default ?? imported;
    await sodium.ready;
    const provider: CryptoProvider = {
      name: 'libsodium.js',
      verify: (publicKey, message, signature) => {
        try {
          return sodium.crypto_sign_verify_detached(signature, message, publicKey);
        } catch {
          return false; // malformed key or signature: it does not verify
        }
      },
      sign: (secretKey, message) => sodium.crypto_sign_detached(message, secretKey),
      keyPairFromSeed: (seed) => {
        const pair = sodium.crypto_sign_seed_keypair(seed);
        return { publicKey: pair.publicKey, secretKey: pair.privateKey };
      },
      randomBytes,
      seal: (key, nonce, message) => sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(message, null, null, nonce, key),
      open: (key, nonce, ciphertext) => {
        try {
          return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, null, nonce, key);
        } catch {
          return null; // the tag does not verify
        }
      },
      agree: (secretKey, peerPublicKey) => {
        try {
          const mine = sodium.crypto_sign_ed25519_sk_to_curve25519(secretKey);
          const theirs = sodium.crypto_sign_ed25519_pk_to_curve25519(peerPublicKey);
          return sodium.crypto_scalarmult(mine, theirs);
        } catch {
          return null; // not a valid Ed25519 point
        }
      },
    };
    return provider;
  })();
  return sodiumProvider;
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

export function fromHex(hex: string): Uint8Array | null {
  const clean = hex.trim();
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) return null;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}
