// Peer server for bench/run_http: Node's own `http` module answering every request with
// "hello" (text/plain), the same body as examples/http_hello.cpp.
//
// usage: node http_hello.js PORT
//
// Listens on 127.0.0.1:PORT with Node's defaults (keep-alive on). SIGINT or SIGTERM stops it.
'use strict';

const http = require('http');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535 || process.argv.length !== 3) {
  console.error('usage: node http_hello.js PORT');
  process.exit(2);
}

const body = Buffer.from('hello');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.listen(port, '127.0.0.1');

// Keep-alive connections would hold server.close() open: just leave.
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
