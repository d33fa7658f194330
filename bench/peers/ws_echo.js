// Peer server for the wman benchmark: an echo server on the Node.js `ws` package.
//
// usage: node ws_echo.js PORT [CERT KEY]
//
// Listens on 127.0.0.1:PORT and answers every WebSocket message with the same bytes and the
// same kind (text or binary). Compression is off, as in the other servers measured. With CERT
// and KEY (PEM files) it serves wss:// from a Node `https` server with Node's default TLS
// settings. SIGINT or SIGTERM stops the server.
'use strict';

const fs = require('fs');
const https = require('https');

// Resolved from bench/node_modules (installed by bench/run with `npm ci --prefix bench`).
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const tls = process.argv.length === 5;
if (!Number.isInteger(port) || port <= 0 || port > 65535 || (process.argv.length !== 3 && !tls)) {
  console.error('usage: node ws_echo.js PORT [CERT KEY]');
  process.exit(2);
}

const options = { perMessageDeflate: false, clientTracking: false, maxPayload: 16 * 1024 * 1024 };
let wss;
if (tls) {
  const server = https.createServer({
    cert: fs.readFileSync(process.argv[3]),
    key: fs.readFileSync(process.argv[4]),
  });
  wss = new WebSocketServer({ ...options, server }); // re-emits the server's listening and error
  server.listen(port, '127.0.0.1');
} else {
  wss = new WebSocketServer({ ...options, host: '127.0.0.1', port });
}

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});

wss.on('listening', () => console.log(`listening on 127.0.0.1:${port}${tls ? ' (TLS)' : ''}`));
wss.on('error', (err) => {
  console.error(`ws_echo: ${err.message}`);
  process.exit(1);
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
