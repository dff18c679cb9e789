import express from 'express';
import type { Router } from 'express';

/**
 * The router that serves the monitoring endpoints. Mount it anywhere (`app.use(obs.router)` or
 * `app.use('/internal', obs.router)`); the routes it serves are left out of HTTP logs wherever it is mounted.
 */
export function createMonitoringRouter(): Router {
  return express.Router();
}
