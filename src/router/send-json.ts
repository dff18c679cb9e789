import type { IncomingMessage, ServerResponse } from 'node:http';

/** Ends `res` with a JSON body (none for HEAD), its length and content type, plus any extra headers. */
export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  extraHeaders?: Readonly<Record<string, string>>,
): void {
  const payload = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(payload));
  if (extraHeaders) for (const [name, value] of Object.entries(extraHeaders)) res.setHeader(name, value);
  res.end(req.method === 'HEAD' ? undefined : payload);
}
