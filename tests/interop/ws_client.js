// Interop client on Node's `ws` (tests/interop/package.json): runs the echo matrix against a
// wman websocket echo worker and prints one TAP-like line per check ("ok NAME" /
// "not ok NAME: why"). Exit status 0 only if every check passed.
//
// usage: node ws_client.js URL CLIENT_DEFLATE(on|off) EXPECT_NEGOTIATED(yes|no) MAX_SIZE
//   URL                ws://127.0.0.1:PORT/ of the echo worker
//   CLIENT_DEFLATE     whether the client offers permessage-deflate
//   EXPECT_NEGOTIATED  whether the server must accept it (ws.extensions)
//   MAX_SIZE           the largest echo size to run, and the server's max_message_size:
//                      MAX_SIZE + 1 must be closed with 1009
'use strict';

let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  console.log('not ok require ws: ' + e.message + ' (run scripts/deps: npm ci --prefix tests/interop)');
  process.exit(1);
}

const [url, clientDeflateArg, expectArg, maxSizeArg] = process.argv.slice(2);
const clientDeflate = clientDeflateArg === 'on';
const expectNegotiated = expectArg === 'yes';
const maxSize = Number(maxSizeArg);
const MiB = 1024 * 1024;
const SIZES = [0, 1, 125, 126, 65535, 65536, MiB, 16 * MiB].filter((n) => n <= maxSize);
if (!SIZES.includes(maxSize)) SIZES.push(maxSize);
const STEP_TIMEOUT_MS = Number(process.env.WS_STEP_TIMEOUT_MS || 30000);

let failures = 0;
function ok(name) { console.log('ok ' + name); }
function notOk(name, why) { failures++; console.log('not ok ' + name + ': ' + why); }

// A string whose UTF-8 encoding is exactly n bytes, mostly multi-byte characters (the same
// generator as interop_support.text_of_size).
function textOfSize(n) {
  const unit = 'a\u00e9\u20ac\u{1F600}';  // 1 + 2 + 3 + 4 bytes
  let s = unit.repeat(Math.floor(n / 10));
  return s + 'x'.repeat(n - Buffer.byteLength(s));
}
// n pseudo-random (incompressible) bytes.
function binaryOfSize(n, seed = 1) {
  const b = Buffer.allocUnsafe(n);
  let x = (seed * 2654435761 + n) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

// Wraps a ws connection in promises: next() resolves with the next event of interest.
class Client {
  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    ws.on('message', (data, isBinary) => this.push({ type: 'message', data, isBinary }));
    ws.on('pong', (data) => this.push({ type: 'pong', data }));
    ws.on('close', (code, reason) => this.push({ type: 'close', code, reason: reason.toString() }));
    ws.on('error', (err) => this.push({ type: 'error', err }));
  }
  static open(options = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        perMessageDeflate: clientDeflate, maxPayload: 64 * MiB, handshakeTimeout: STEP_TIMEOUT_MS,
        ...options,
      });
      const c = new Client(ws);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }
  push(ev) {
    const w = this.waiters.shift();
    if (w) w(ev); else this.queue.push(ev);
  }
  next(what) {
    const ev = this.queue.shift();
    if (ev) return Promise.resolve(ev);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for ' + what)), STEP_TIMEOUT_MS);
      this.waiters.push((e) => { clearTimeout(t); resolve(e); });
    });
  }
  send(data, options = {}) {
    return new Promise((resolve, reject) => this.ws.send(data, options, (err) => (err ? reject(err) : resolve())));
  }
  async expectMessage(expected, isBinary) {
    const ev = await this.next('the echo');
    if (ev.type !== 'message') throw new Error('expected the echo, got ' + describe(ev));
    if (ev.isBinary !== isBinary) throw new Error('kind changed: sent ' + (isBinary ? 'binary' : 'text'));
    const want = Buffer.isBuffer(expected) ? expected : Buffer.from(expected);
    if (!want.equals(ev.data)) {
      let i = 0;
      while (i < want.length && i < ev.data.length && want[i] === ev.data[i]) i++;
      throw new Error('echo differs: sent ' + want.length + ' bytes, got ' + ev.data.length + ', first difference at ' + i);
    }
  }
  async expectClose(code) {
    const errors = [];
    for (;;) {
      const ev = await this.next('close ' + code);
      if (ev.type === 'message') throw new Error('expected close ' + code + ', got a message of ' + ev.data.length + ' bytes');
      if (ev.type === 'close') {
        if (ev.code !== code) {
          throw new Error('closed with ' + ev.code + ' "' + ev.reason + '", expected ' + code +
                          (errors.length ? ' (after error: ' + errors.join('; ') + ')' : ''));
        }
        return ev;
      }
      // 'error' (e.g. a write after the server closed) is followed by 'close'.
      errors.push(ev.err.code || ev.err.message);
    }
  }
  bytesRead() { return this.ws._socket ? this.ws._socket.bytesRead : 0; }
}

function describe(ev) {
  if (ev.type === 'message') return 'a message of ' + ev.data.length + ' bytes';
  if (ev.type === 'close') return 'close ' + ev.code + ' "' + ev.reason + '"';
  if (ev.type === 'error') return 'error ' + ev.err.message;
  return ev.type;
}

async function check(name, fn) {
  try {
    await fn();
    ok(name);
  } catch (e) {
    notOk(name, e && e.message ? e.message : String(e));
  }
}

async function main() {
  let c = await Client.open();

  await check('extension negotiated=' + expectArg, async () => {
    const negotiated = c.ws.extensions.startsWith('permessage-deflate');
    if (negotiated !== expectNegotiated) {
      throw new Error('ws.extensions is "' + c.ws.extensions + '"');
    }
  });

  for (const size of SIZES) {
    for (const isBinary of [false, true]) {
      await check('echo ' + (isBinary ? 'binary ' : 'text ') + size, async () => {
        if (c.ws.readyState !== WebSocket.OPEN) c = await Client.open();
        const msg = isBinary ? binaryOfSize(size) : textOfSize(size);
        await c.send(msg, { binary: isBinary });
        await c.expectMessage(msg, isBinary);
      });
    }
  }

  // A compressible message: with the extension, the echo must arrive compressed (the server
  // compresses too, not only accepts compressed input).
  await check('echo of 1 MiB compressible text, ' + (expectNegotiated ? 'compressed' : 'uncompressed'), async () => {
    const size = Math.min(MiB, maxSize);
    const msg = 'wman interop '.repeat(size / 13 + 1).slice(0, size);
    const before = c.bytesRead();
    await c.send(msg);
    await c.expectMessage(msg, false);
    const wire = c.bytesRead() - before;
    if (expectNegotiated ? wire > size / 10 : wire < size) {
      throw new Error(size + ' bytes echoed as ' + wire + ' bytes on the wire');
    }
  });

  await check('fragmented text and binary', async () => {
    const parts = ['h\u00e9llo ', '', 'w\u00f6rld \u20ac ', '\u{1F600}'.repeat(30000)];
    for (let i = 0; i < parts.length; i++) {
      await c.send(parts[i], { binary: false, fin: i === parts.length - 1 });
    }
    await c.expectMessage(parts.join(''), false);
    const bparts = [Buffer.from('first'), Buffer.alloc(0), binaryOfSize(70000), Buffer.from('last')];
    for (let i = 0; i < bparts.length; i++) {
      await c.send(bparts[i], { binary: true, fin: i === bparts.length - 1 });
    }
    await c.expectMessage(Buffer.concat(bparts), true);
  });

  await check('ping gets a pong with the same payload', async () => {
    for (const payload of [Buffer.from('ping-1'), Buffer.alloc(0), binaryOfSize(125)]) {
      c.ws.ping(payload);
      const ev = await c.next('pong');
      if (ev.type !== 'pong' || !ev.data.equals(payload)) throw new Error('got ' + describe(ev) + (ev.data ? ' ' + ev.data.toString('hex') : ''));
    }
  });

  await check('close 4000 with a reason is answered with 4000', async () => {
    c.ws.close(4000, 'custom reason');
    const ev = await c.expectClose(4000);
    if (ev.reason !== 'custom reason') console.log('# server answered with reason "' + ev.reason + '"');
  });

  await check('close 1000 is answered with 1000', async () => {
    const d = await Client.open();
    d.ws.close(1000);
    await d.expectClose(1000);
  });

  await check('max_message_size + 1 is closed with 1009', async () => {
    const d = await Client.open();
    // Incompressible, so the frame on the wire is as big as the message either way.
    d.send(binaryOfSize(maxSize + 1, 7), { binary: true }).catch(() => {});
    await d.expectClose(1009);
  });
}

main().then(
  () => process.exit(failures ? 1 : 0),
  (e) => { console.log('not ok main: ' + (e && e.stack ? e.stack : e)); process.exit(1); },
);
