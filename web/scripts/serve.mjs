#!/usr/bin/env node
// A tiny static server for the browser page and the browser tests, on
// 127.0.0.1 only. Serves web/page (the demo page), web/dist (the package and
// the wasm core) and the two libsodium.js modules from web/node_modules.
//
//   node web/scripts/serve.mjs [--port 8080]   then open http://127.0.0.1:8080/?seed=ws://127.0.0.1:7401/
import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// URL prefix -> directory; nothing outside these is served.
const roots = {
  '/page/': path.join(webDir, 'page'),
  '/dist/': path.join(webDir, 'dist'),
  '/node_modules/libsodium/': path.join(webDir, 'node_modules', 'libsodium'),
  '/node_modules/libsodium-wrappers/': path.join(webDir, 'node_modules', 'libsodium-wrappers'),
};

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

async function resolve(urlPath) {
  for (const [prefix, dir] of Object.entries(roots)) {
    if (!urlPath.startsWith(prefix)) continue;
    const file = path.resolve(dir, '.' + urlPath.slice(prefix.length - 1));
    if (file !== dir && !file.startsWith(dir + path.sep)) return null;
    try {
      const stat = await fs.stat(file);
      if (stat.isDirectory()) return resolve(urlPath.replace(/\/?$/, '/') + 'index.html');
      return { file, size: stat.size };
    } catch {
      return null;
    }
  }
  return null;
}

export function startServer({ port = 0, host = '127.0.0.1' } = {}) {
  const server = http.createServer(async (req, res) => {
    let urlPath;
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad path');
      return;
    }
    if (urlPath === '/' || urlPath === '/index.html') {
      const query = new URL(req.url ?? '/', 'http://x').search;
      res.writeHead(302, { location: '/page/' + query }).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const found = await resolve(urlPath);
    if (!found) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${urlPath}`);
      return;
    }
    res.writeHead(200, {
      'content-type': types[path.extname(found.file)] ?? 'application/octet-stream',
      'content-length': found.size,
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(found.file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolvePromise({ server, url: `http://${host}:${address.port}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8080;
  const { url } = await startServer({ port });
  console.log(`serving the yz page at ${url}/  (add ?seed=ws://127.0.0.1:<port>/)`);
}
