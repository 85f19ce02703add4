// Baseline (b) for `loadgen`: a Node.js server on the `ws` package that
// broadcasts every text message it receives to every connected client, with
// no logic and no storage. Listens on HOST:PORT (PORT=0 picks a free port)
// and prints "listening on HOST:PORT" for the load generator to read.
'use strict';
const { WebSocketServer } = require('ws');

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 0);
const wss = new WebSocketServer({ host, port, path: '/ws', perMessageDeflate: false, maxPayload: 64 * 1024 });

wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === 1) client.send(data, { binary: isBinary });
    }
  });
  socket.on('error', () => {});
});

wss.on('listening', () => {
  const a = wss.address();
  console.log(`listening on ${a.address}:${a.port}`);
});

const stop = () => wss.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
