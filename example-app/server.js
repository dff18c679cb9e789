'use strict';
const { createApp } = require('./app');

// PORT=0 picks a free port; HOST=127.0.0.1 keeps the app on loopback. The line logged once listening gives the port.
const port = process.env.PORT ? Number(process.env.PORT) : 3000;
const host = process.env.HOST || undefined;
const { app, obs } = createApp();
const server = app.listen(port, host, () => {
  const actual = server.address().port;
  obs.logger.info({ port: actual }, `users-service listening on http://${host ?? 'localhost'}:${actual}`);
});
// A WebSocket echo at /ws when the optional `ws` package is installed: each connection's lines carry its id and the
// upgrade request's id; websocket_* metrics count connections, messages and bytes.
let WebSocketServer;
try {
  ({ WebSocketServer } = require('ws'));
} catch {
  WebSocketServer = undefined;
}
if (WebSocketServer !== undefined) {
  const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 64 * 1024 });
  obs.ws.observe(wss);
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      obs.logger.debug({ bytes: data.length }, 'echo');
      socket.send(data, { binary: isBinary });
    });
  });
}
// SIGTERM/SIGINT: readiness fails, in-flight requests finish, hooks run, logs are flushed, then the process exits.
obs.attach(server);
