// A small app as a user writes it in TypeScript, type-checked under `module: nodenext` and under
// `moduleResolution: bundler`, then compiled and run.
import express, { type NextFunction, type Request, type Response } from 'express';
import { createObservability, getRequestContext, type Observability, type RequestContext } from 'express-observability';

const obs: Observability = createObservability({ serviceName: process.env.CONSUMER ?? 'consumer-ts', slowRequestMs: 5000 });
const app = express();
app.use(obs.middleware);
app.use(obs.router);
app.get('/hello/:name', (req: Request<{ name: string }>, res: Response, next: NextFunction) => {
  const context: RequestContext | undefined = getRequestContext();
  if (context === undefined) {
    next(new Error('no request context'));
    return;
  }
  req.log.info({ name: req.params.name }, 'greeting');
  res.json({ hello: req.params.name, id: req.id, sameId: context.requestId === req.id });
});
app.use(obs.errorHandler);
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ consumerListening: typeof address === 'object' && address !== null ? address.port : null })}\n`);
});
obs.attach(server);
