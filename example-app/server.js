'use strict';
const { createApp } = require('./app');

const port = process.env.PORT ? Number(process.env.PORT) : 3000;
const { app, obs } = createApp();
const server = app.listen(port, () => {
  obs.logger.info({ port }, `users-service listening on http://localhost:${port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    obs.logger.info({ signal }, 'shutting down');
    server.close(() => {
      obs.flush();
      process.exit(0);
    });
    server.closeIdleConnections();
  });
}
