// Peer server for the wman benchmark: an echo server on the Node.js `ws` package.
//
// usage: node ws_echo.js PORT
//
// Listens on 127.0.0.1:PORT and answers every WebSocket message with the same bytes and the
// same kind (text or binary). Compression is off, as in the other servers measured. SIGINT or
// SIGTERM stops the server.
'use strict';

// Resolved from bench/node_modules (installed by bench/run with `npm ci --prefix bench`).
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node ws_echo.js PORT');
  process.exit(2);
}

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  clientTracking: false,
  maxPayload: 16 * 1024 * 1024,
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});

wss.on('listening', () => console.log(`listening on 127.0.0.1:${port}`));
wss.on('error', (err) => {
  console.error(`ws_echo: ${err.message}`);
  process.exit(1);
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
