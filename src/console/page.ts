/**
 * The status page: one HTML document with its style and script inline, served without the token (it holds no
 * data) under a Content-Security-Policy that allows only that style and that script (by hash) and requests to
 * its own origin. The page asks for the token and sends it in the Authorization header of each request it makes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { MonitoringHandler } from '../router/create-router';

/** The page's files: in `src/console/page/`, copied beside the compiled code by the build. */
const PAGE_DIR = join(__dirname, 'page');

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

export interface ConsolePage {
  readonly html: Buffer;
  readonly contentSecurityPolicy: string;
}

/** Reads and assembles the page (once per instance, when the console is built). */
export function buildConsolePage(): ConsolePage {
  const style = readFileSync(join(PAGE_DIR, 'console.css'), 'utf8');
  const script = readFileSync(join(PAGE_DIR, 'console.js'), 'utf8');
  const template = readFileSync(join(PAGE_DIR, 'console.html'), 'utf8');
  // Replaced with functions: a `$` in the script or style must not be read as a replacement pattern.
  const html = template.replace('{{style}}', () => style).replace('{{script}}', () => script);
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html: Buffer.from(html, 'utf8'), contentSecurityPolicy };
}

/** `GET <path>`: the page. */
export function pageHandler(page: ConsolePage): MonitoringHandler {
  return function consolePage(req: IncomingMessage, res: ServerResponse): void {
    res.statusCode = 200;
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('content-security-policy', page.contentSecurityPolicy);
    res.setHeader('cache-control', 'no-store');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    res.setHeader('cross-origin-resource-policy', 'same-origin');
    res.setHeader('content-length', page.html.length);
    res.end(req.method === 'HEAD' ? undefined : page.html);
  };
}
