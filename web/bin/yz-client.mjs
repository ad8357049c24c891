#!/usr/bin/env node
// yz-client: a headless yz peer (role "client") running the WebAssembly core in
// Node.js. It joins through a seed, runs one command, says goodbye and exits.
//
//   yz-client put  <seed-url> <key> <value> [--ttl S]
//   yz-client get  <seed-url> <key>
//   yz-client find-node <seed-url> <64-hex id>
//   yz-client ping <seed-url> <64-hex id>
//   yz-client status <seed-url>         join, then print health and links
//
// Options: --json (print the result object), --seed URL (more seeds),
// --identity FILE (keep the identity), --timeout MS (join wait, default 10000),
// --log-level debug|info|warn|silent (default warn).
// Exit codes: 0 ok (get: found), 1 failed or not found, 2 usage.
import { createNodeClient } from '../dist/node.js';

const usage = `usage: yz-client <put|get|find-node|ping|status> <seed-url> [args] [--json] [--seed URL]...
                 [--identity FILE] [--timeout MS] [--ttl S] [--log-level LEVEL]
  put <seed> <key> <value>   store a value on the key's k closest nodes
  get <seed> <key>           look a value up (exit 1 when not found)
  find-node <seed> <id>      the k nodes closest to a 64-hex id
  ping <seed> <id>           ping a node by id
  status <seed>              join and show this client's health and links`;

function parse(argv) {
  const out = { json: false, seeds: [], timeout: 10000, ttl: 0, logLevel: 'warn', identity: '', rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--json') out.json = true;
    else if (a === '--seed') out.seeds.push(value());
    else if (a === '--timeout') out.timeout = Number(value());
    else if (a === '--ttl') out.ttl = Number(value());
    else if (a === '--log-level') out.logLevel = value();
    else if (a === '--identity') out.identity = value();
    else if (a === '-h' || a === '--help') out.help = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else out.rest.push(a);
  }
  return out;
}

const need = { put: 4, get: 3, 'find-node': 3, ping: 3, status: 2 };

async function main() {
  let args;
  try {
    args = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`yz-client: ${err.message}\n${usage}`);
    return 2;
  }
  const [command, seed, ...params] = args.rest;
  if (args.help || !command) {
    console.log(usage);
    return args.help ? 0 : 2;
  }
  if (!(command in need) || args.rest.length !== need[command]) {
    console.error(`yz-client: wrong arguments for '${command ?? ''}'\n${usage}`);
    return 2;
  }
  if (!Number.isFinite(args.timeout) || args.timeout <= 0) {
    console.error('yz-client: --timeout must be a positive number of milliseconds');
    return 2;
  }
  const node = await createNodeClient({
    seeds: [seed, ...args.seeds],
    logLevel: args.logLevel,
    identityFile: args.identity || undefined,
  });
  let code = 1;
  try {
    try {
      await node.waitHealthy(args.timeout);
    } catch (err) {
      // Try the command anyway: a store can succeed on a partly joined client.
      if (command !== 'status') console.error(`yz-client: warning: ${err.message}`);
    }
    let result;
    if (command === 'put') result = await node.put(params[0], params[1], { ttlSeconds: args.ttl });
    else if (command === 'get') result = await node.get(params[0]);
    else if (command === 'find-node') result = await node.findNode(params[0]);
    else if (command === 'ping') result = await node.ping(params[0]);
    else result = { ...node.status(), join_ms: node.joinMs, links_detail: node.peers().links };

    if (command === 'get') code = result.found ? 0 : 1;
    else if (command === 'status') code = result.healthy ? 0 : 1;
    else code = result.ok ? 0 : 1;

    if (args.json) {
      const printable = { ...result };
      if (command === 'get') printable.value = result.text ?? null;
      if (command === 'get') printable.value_base64 = result.value ? Buffer.from(result.value).toString('base64') : '';
      delete printable.text;
      console.log(JSON.stringify(printable, null, 2));
    } else if (command === 'put') {
      console.log(result.ok
        ? `stored ${params[0]} on ${result.replicas_acked}/${result.replicas_tried} replicas (key ${result.key.slice(0, 16)}…, seq ${result.seq}, ${result.elapsed_ms} ms)`
        : `put failed: ${result.error}`);
    } else if (command === 'get') {
      if (result.found) console.log(result.text ?? `(${result.value.length} bytes, not UTF-8) ${Buffer.from(result.value).toString('base64')}`);
      else console.error(`not found: ${result.error}`);
    } else if (command === 'find-node') {
      if (!result.ok) console.error(`find-node failed: ${result.error}`);
      for (const c of result.closest) console.log(`${c.id}  ${c.role.padEnd(9)} ${c.addresses.join(' ')}`);
      console.log(`${result.hops} hops, ${result.requests} requests, ${result.elapsed_ms} ms`);
    } else if (command === 'ping') {
      console.log(result.ok ? `pong in ${result.rtt_ms} ms` : `ping failed: ${result.error}`);
    } else {
      console.log(`${result.healthy ? 'healthy' : 'NOT healthy'}  id ${result.id}  role ${result.role}  joined in ${result.join_ms} ms`);
      for (const r of result.reasons) console.log(`  reason: ${r}`);
      for (const l of result.links_detail) {
        console.log(`  link ${l.link} ${l.ready ? 'ready' : 'opening'} ${l.kept ? 'kept ' : 'query'} ${l.peer.slice(0, 16)} ${l.role} ${l.address}`);
      }
    }
  } finally {
    await node.stop();
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`yz-client: ${err?.message ?? err}`);
    process.exit(1);
  },
);
