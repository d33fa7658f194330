// Peer client for bench/run_clients: the WebSocket echo client of bench_ws_client
// (ws_client.cpp) written on the Node.js `ws` package, with the same arguments, the same
// checks and the same JSON line.
//
// usage: node ws_client_node.js URL [--conns C] [--window W] [--size S] [--text|--binary]
//                                   [--duration D] [--warmup SECONDS]
//
// Opens C connections and keeps W messages of S bytes in flight on each. Every echo's kind,
// length and sequence number (its first 8 bytes) are checked, and every 64th echo byte for
// byte. After the warm-up (counted from the moment all connections are open) it counts
// echoes and its own CPU time (process.cpuUsage(): user + system of the whole process, its
// helper threads included) over D seconds. Compression is off, as in the other clients.
'use strict';

// Resolved from bench/node_modules (installed by bench/run with `npm ci --prefix bench`).
const WebSocket = require('ws');

function usage(why) {
  console.error(`ws_client_node: ${why}`);
  console.error(
    'usage: node ws_client_node.js URL [--conns C] [--window W] [--size S] [--text|--binary]\n' +
      '                                  [--duration D] [--warmup SECONDS]',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const a = { url: '', conns: 1, window: 1, size: 32, text: true, duration: 5, warmup: 1 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage('missing value');
      return Number(argv[++i]);
    };
    if (arg === '--conns') a.conns = value();
    else if (arg === '--window') a.window = value();
    else if (arg === '--size') a.size = value();
    else if (arg === '--duration') a.duration = value();
    else if (arg === '--warmup') a.warmup = value();
    else if (arg === '--text') a.text = true;
    else if (arg === '--binary') a.text = false;
    else if (!arg.startsWith('--') && !a.url) a.url = arg;
    else usage(`unknown argument ${arg}`);
  }
  if (!a.url) usage('missing URL');
  if (!(a.conns >= 1 && a.window >= 1 && a.size >= 1 && a.duration > 0 && a.warmup >= 0)) {
    usage('conns, window and size must be >= 1, duration > 0, warmup >= 0');
  }
  return a;
}

const args = parseArgs(process.argv.slice(2));
const SEQ_BYTES = 8;
const prefix = Math.min(args.size, SEQ_BYTES);
// Printable filler, so the same bytes are valid as text and as binary.
const body = Buffer.alloc(args.size);
for (let i = 0; i < args.size; i++) body[i] = 97 + ((i * 7) % 26);

// Message number `seq`: its low 32 bits in hex in the first `prefix` bytes of `buf`.
const HEX = Buffer.from('0123456789abcdef', 'latin1');
function writeSeq(buf, seq) {
  for (let i = 0; i < prefix; i++) buf[i] = HEX[(seq >>> (28 - 4 * i)) & 15];
}

let total = 0;
let open = 0;
let stopping = false;
let errors = 0;
let start = null;
let end = null;
const links = [];

function snapshot() {
  return { msgs: total, cpu: process.cpuUsage(), time: process.hrtime.bigint() };
}

function fail(why) {
  if (errors++ === 0) console.error(`ws_client_node: ${why}`);
  stop();
}

function stop() {
  if (stopping) return;
  stopping = true;
  for (const l of links) l.ws.terminate();
  report();
}

function report() {
  const ok = end !== null && errors === 0 && end.msgs > start.msgs;
  const seconds = end ? Number(end.time - start.time) / 1e9 : 0;
  const msgs = end ? end.msgs - start.msgs : 0;
  const user = end ? (end.cpu.user - start.cpu.user) / 1e6 : 0;
  const sys = end ? (end.cpu.system - start.cpu.system) / 1e6 : 0;
  const cpu = user + sys;
  const r = {
    client: 'node-ws',
    url: args.url,
    conns: args.conns,
    window: args.window,
    size: args.size,
    kind: args.text ? 'text' : 'binary',
    warmup_s: args.warmup,
    seconds: +seconds.toFixed(3),
    msgs,
    msgs_per_s: seconds > 0 ? +(msgs / seconds).toFixed(1) : 0,
    cpu_user_s: +user.toFixed(3),
    cpu_sys_s: +sys.toFixed(3),
    cpu_s: +cpu.toFixed(3),
    cpu_us_per_msg: msgs > 0 ? +((cpu * 1e6) / msgs).toFixed(3) : 0,
    cpu_util: seconds > 0 ? +(cpu / seconds).toFixed(3) : 0,
    errors: errors + (ok || errors ? 0 : 1),
  };
  process.stdout.write(JSON.stringify(r) + '\n', () => process.exit(ok ? 0 : 1));
}

function allOpen() {
  setTimeout(() => {
    start = snapshot();
    setTimeout(() => {
      end = snapshot();
      stop();
    }, args.duration * 1000);
  }, args.warmup * 1000);
}

function connect() {
  // payload: body with the sequence number of the next send in front. ws copies it while
  // masking (a Buffer passed to send() is read-only to ws), so it is rewritten in place.
  const l = { ws: null, payload: Buffer.from(body), sent: 0, received: 0 };
  l.ws = new WebSocket(args.url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  const sendOptions = { binary: !args.text, compress: false };
  const sendNext = () => {
    writeSeq(l.payload, l.sent++);
    l.ws.send(l.payload, sendOptions);
  };
  const seq = Buffer.alloc(SEQ_BYTES);
  l.ws.on('open', () => {
    for (let i = 0; i < args.window; i++) sendNext();
    if (++open === args.conns) allOpen();
  });
  l.ws.on('message', (data, isBinary) => {
    if (stopping) return;
    if (isBinary === args.text || data.length !== args.size) {
      fail(`echo ${l.received}: ${data.length} bytes, binary=${isBinary}`);
      return;
    }
    writeSeq(seq, l.received);
    let good = data.compare(seq, 0, prefix, 0, prefix) === 0;
    if (good && l.received % 64 === 0) {
      good = data.compare(body, prefix, args.size, prefix, args.size) === 0;
    }
    if (!good) {
      fail(`echo ${l.received}: wrong bytes`);
      return;
    }
    l.received++;
    total++;
    sendNext();
  });
  l.ws.on('error', (e) => fail(`error: ${e.message}`));
  l.ws.on('close', () => {
    if (!stopping) fail('connection closed by the server');
  });
  links.push(l);
}

for (let i = 0; i < args.conns; i++) connect();
