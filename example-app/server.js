'use strict';
const { createApp } = require('./app');

const port = process.env.PORT ? Number(process.env.PORT) : 3000;
const { app, obs } = createApp();
const server = app.listen(port, () => {
  obs.logger.info({ port }, `users-service listening on http://localhost:${port}`);
});
// SIGTERM/SIGINT: readiness fails, in-flight requests finish, hooks run, logs are flushed, then the process exits.
obs.attach(server);
