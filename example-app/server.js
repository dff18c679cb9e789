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
// SIGTERM/SIGINT: readiness fails, in-flight requests finish, hooks run, logs are flushed, then the process exits.
obs.attach(server);
