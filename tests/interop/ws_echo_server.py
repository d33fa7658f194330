#!/usr/bin/python3
"""A python3-websockets echo server, the peer of async_client_interop_test.py: binds
127.0.0.1 on a free port, prints "port N" once it listens, echoes every message with its own
kind, and runs until killed.

usage: ws_echo_server.py [--cert PEM --key KEY] [--deflate] [--subprotocol P]... [--reject N]
  --cert/--key     serve wss:// with this chain and key
  --deflate        accept permessage-deflate (websockets' defaults: window bits 12 both ways)
  --subprotocol P  a subprotocol the server supports (repeat; websockets picks the one with
                   the best combined rank in the client's and the server's lists)
"""
import argparse
import asyncio
import http
import ssl
import sys

import websockets  # Debian's python3-websockets


async def echo(ws, _path=None):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.exceptions.ConnectionClosed:
        pass


async def main(args):
    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)

    async def refuse(_path, _headers):
        headers = [("Content-Type", "text/plain")]
        return http.HTTPStatus(args.reject), headers, b"refused by the test\n"

    server = await websockets.serve(
        echo, "127.0.0.1", 0, ssl=context, compression="deflate" if args.deflate else None,
        subprotocols=args.subprotocol or None, max_size=None, ping_interval=None,
        process_request=refuse if args.reject else None)
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--subprotocol", action="append")
    parser.add_argument("--reject", type=int)
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(0)
