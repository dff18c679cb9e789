import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Whether a request carries `Authorization: Bearer <token>`, built once per token. Both sides are hashed to the
 * same length, so the comparison takes the same time whatever was sent. Without a token every request passes.
 */
export function bearerCheck(token: string | undefined): (req: IncomingMessage) => boolean {
  if (token === undefined) return () => true;
  const expected = digest(token);
  return function authorised(req) {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || header.length > 4096) return false;
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    return match !== null && timingSafeEqual(digest(match[1]!), expected);
  };
}
