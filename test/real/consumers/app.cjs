'use strict';
// A small app as a user writes it with CommonJS, against the installed tarball.
const express = require('express');
const { createObservability } = require('express-observability');

const obs = createObservability({ serviceName: process.env.CONSUMER });
const app = express();
app.use(obs.middleware);
app.use(obs.router);
app.get('/hello/:name', (req, res) => {
  req.log.info({ name: req.params.name }, 'greeting');
  res.json({ hello: req.params.name, id: req.id });
});
app.use(obs.errorHandler);
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ consumerListening: server.address().port })}\n`);
});
obs.attach(server);
