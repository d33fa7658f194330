// A Node `ws` echo server (tests/interop/package.json), the peer of
// async_client_interop_test.py: binds 127.0.0.1 on a free port, prints "port N" once it
// listens, echoes every message with its own kind, and runs until killed.
//
// usage: node ws_echo_server.js [--cert PEM --key KEY] [--deflate] [--subprotocol P]...
//                                [--reject N]
//   --cert/--key     serve wss:// with this chain and key
//   --deflate        accept permessage-deflate (threshold 0: the server compresses every
//                    message, not only those over 1 KiB)
//   --subprotocol P  a subprotocol the server supports (repeat; the first of them, in the
//                    server's order, that the client offered is chosen)
//   --reject N       answer every upgrade request with HTTP status N instead
'use strict';

const fs = require('fs');
const https = require('https');
const { WebSocketServer } = require('ws');

const args = { subprotocols: [], deflate: false, cert: null, key: null, reject: 0 };
for (let i = 2; i < process.argv.length; i++) {
  const flag = process.argv[i];
  if (flag === '--deflate') args.deflate = true;
  else if (flag === '--subprotocol') args.subprotocols.push(process.argv[++i]);
  else if (flag === '--cert') args.cert = process.argv[++i];
  else if (flag === '--key') args.key = process.argv[++i];
  else if (flag === '--reject') args.reject = Number(process.argv[++i]);
  else {
    console.error('unknown flag ' + flag);
    process.exit(2);
  }
}

const options = {
  perMessageDeflate: args.deflate ? { threshold: 0 } : false,
  maxPayload: 64 * 1024 * 1024,
  handleProtocols: (offered) => args.subprotocols.find((p) => offered.has(p)) || false,
};
if (args.reject) options.verifyClient = (info, done) => done(false, args.reject);

let server;
let wss;
if (args.cert) {
  server = https.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) });
  wss = new WebSocketServer({ server, ...options });
} else {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
}

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});

function ready(address) {
  process.stdout.write('port ' + address.port + '\n');
}

if (server) {
  server.listen(0, '127.0.0.1', () => ready(server.address()));
} else {
  wss.on('listening', () => ready(wss.address()));
}
