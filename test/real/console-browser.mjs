// The console's status page in a real browser: Debian's Chromium driven by playwright-core with the system
// executable (no browser download), against the example app after real traffic. Screenshots go to
// test-output/console/. Run with `npm run test:console-browser` (needs Debian's `chromium` package).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { requireCommands, check, ROOT, startExampleApp, stop } from './lib.mjs';

const TOKEN = 'browser-check-token-0123456789';
const SHOTS = join(ROOT, 'test-output', 'console');
/** Chromium's own connections (updates, sync, field trials) would be refused on a closed network: turned off. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function traffic(url) {
  const ids = [];
  for (const path of ['/users/1', '/users/2', '/users/404', '/users/1/summary', '/users/1/summary', '/users/1/profile', '/fail', '/users']) {
    const res = await fetch(url + path);
    await res.arrayBuffer();
    ids.push(res.headers.get('x-request-id'));
  }
  return ids;
}

requireCommands(['chromium'], 'chromium');
await check('console in a browser', 150_000, async () => {
  mkdirSync(SHOTS, { recursive: true });
  const app = await startExampleApp({ CONSOLE_TOKEN: TOKEN, LOG_LEVEL: 'debug' });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  const problems = [];
  const watch = (page) => {
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/401 \(Unauthorized\)/.test(m.text())) problems.push(`console error: ${m.text()}`);
    });
  };
  try {
    const ids = await traffic(app.url);
    // Held open across the checks below: it shows in flight, then completes.
    const held = fetch(`${app.url}/reports/7?ms=20000`).then((r) => r.arrayBuffer()).catch(() => undefined);
    const pageUrl = `${app.url}/console`;

    // 1. Without the token: a sign-in form and nothing else.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    watch(page);
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pageUrl);
    await page.locator('#signin-form').waitFor();
    assert(await page.locator('#main').isHidden(), 'the console is shown without a token');
    const bare = await page.content();
    assert(!bare.includes('/users/:id') && !ids.some((id) => bare.includes(id)), 'the page holds data before sign-in');
    assert(requests.every((u) => u === pageUrl), `the page made requests before sign-in: ${requests.join(', ')}`);
    await page.screenshot({ path: join(SHOTS, '01-sign-in.png') });

    // A wrong token is refused and shows nothing.
    await page.fill('#token', 'wrong-token-0123456789abcdef');
    await page.press('#token', 'Enter');
    await page.locator('#signin-error', { hasText: 'refused' }).waitFor();
    assert(await page.locator('#main').isHidden(), 'a wrong token opened the console');
    assert((await page.locator('#routes tbody tr').count()) === 0, 'a wrong token filled the routes table');
    assert(requests.every((u) => !u.includes(TOKEN) && !u.includes('wrong-token')), 'a token appeared in a URL');

    // 2. From the keyboard: the token field has the focus on load; type the token, Enter.
    await page.reload();
    await page.locator('#signin-form').waitFor();
    assert((await page.evaluate(() => document.activeElement?.id)) === 'token', 'the token field does not have the focus');
    await page.keyboard.type(TOKEN);
    await page.keyboard.press('Enter');
    await page.locator('#main').waitFor({ state: 'visible' });
    await page.locator('#routes tbody tr', { hasText: 'GET /users/:id' }).first().waitFor();
    const routes = await page.locator('#routes tbody tr td:first-child').allTextContents();
    for (const route of ['GET /users/:id', 'GET /users/:id/summary', 'GET /fail']) assert(routes.includes(route), `routes table lacks ${route}: ${routes.join(', ')}`);
    assert((await page.locator('#routes tbody svg.chart').count()) >= routes.length * 3, 'route charts are missing');
    await page.locator('#inflight tbody tr', { hasText: '/reports/:id' }).waitFor();
    await page.locator('#errors tbody tr', { hasText: '/fail' }).first().waitFor();
    const checks = await page.locator('#health tbody td:first-child').allTextContents();
    assert(checks.includes('database') && checks.includes('memory'), `health checks missing: ${checks}`);
    const deps = await page.locator('#deps tbody td:first-child').allTextContents();
    for (const kind of ['database', 'cache', 'llm', 'http']) assert(deps.includes(kind), `dependencies lack ${kind}: ${deps}`);
    assert((await page.locator('#costs tbody tr', { hasText: 'gpt-4o-mini' }).count()) === 1, 'the LLM cost is missing');
    const tiles = await page.locator('#tiles .tile .label').allTextContents();
    assert(tiles.some((t) => t.startsWith('Memory')) && tiles.some((t) => t.startsWith('Event-loop delay')), `tiles lack memory or event loop: ${tiles}`);
    assert(requests.every((u) => !u.includes(TOKEN)), 'the token appeared in a URL');
    // The refresh brings new figures without a reload: a new route shows within two refreshes.
    await fetch(`${app.url}/users/2/summary`).then((r) => r.arrayBuffer());
    await page.screenshot({ path: join(SHOTS, '02-status.png'), fullPage: true });

    // 3. Filtering by a request id shows exactly that request's lines.
    const profileId = ids[5];
    const written = app.json.filter((l) => l.reqId === profileId);
    assert(written.length >= 2, `the profile request wrote ${written.length} lines`);
    await page.fill('#filter-reqid', profileId);
    await page.click('#logs-form button[type=submit]');
    await page.locator('#logs-meta', { hasText: `${written.length} line` }).waitFor({ timeout: 5000 });
    const shown = await page.locator('#logs > li').evaluateAll((items) => items.map((li) => JSON.parse(li.querySelector('pre').textContent)));
    assert(shown.length === written.length, `${shown.length} lines shown for ${profileId}, ${written.length} written`);
    assert(shown.every((l) => l.reqId === profileId), 'a line of another request is shown');
    const key = (l) => `${l.time}|${l.msg}`;
    assert(JSON.stringify(shown.map(key).sort()) === JSON.stringify(written.map(key).sort()), 'the lines shown are not the lines written');
    await page.locator('#logs > li').first().locator('summary > span').first().click();
    await page.locator('#logs-section').screenshot({ path: join(SHOTS, '03-logs-by-request-id.png') });

    // 4. A request id in the recent errors opens that request's lines, from the keyboard.
    const errorButton = page.locator('#errors tbody button.link').first();
    const errorId = await errorButton.getAttribute('data-reqid');
    await errorButton.focus();
    await page.keyboard.press('Enter');
    await page.locator('#request-meta', { hasText: 'oldest first' }).waitFor();
    const dialogIds = await page.locator('#request-lines [data-line-reqid]').evaluateAll((els) => els.map((e) => e.getAttribute('data-line-reqid')));
    assert(dialogIds.length === app.json.filter((l) => l.reqId === errorId).length && dialogIds.every((id) => id === errorId), 'the request dialog shows other lines');
    await page.screenshot({ path: join(SHOTS, '04-request-lines.png') });
    await page.keyboard.press('Escape');
    assert(!(await page.locator('#request-dialog').evaluate((d) => d.open)), 'Escape does not close the dialog');

    // 5. The live tail shows a new request within 2 s.
    await page.click('#tail-toggle');
    await page.locator('#tail-meta', { hasText: 'Connected' }).waitFor();
    const probe = await fetch(`${app.url}/users/1?tail-probe=1`);
    await probe.arrayBuffer();
    const sent = Date.now();
    const probeId = probe.headers.get('x-request-id');
    await page.locator(`#tail [data-line-reqid="${probeId}"]`).first().waitFor({ timeout: 2000 });
    const tailMs = Date.now() - sent;
    await page.locator('#tail-section').screenshot({ path: join(SHOTS, '05-live-tail.png') });
    // Its request id is a button too: it opens that request's lines.
    await page.locator(`#tail [data-line-reqid="${probeId}"]`).first().click();
    await page.locator('#request-title', { hasText: probeId }).waitFor();
    await page.locator('#request-meta', { hasText: 'oldest first' }).waitFor();
    const probeLines = await page.locator('#request-lines [data-line-reqid]').evaluateAll((els) => els.map((e) => e.getAttribute('data-line-reqid')));
    assert(probeLines.length > 0 && probeLines.every((id) => id === probeId), 'the tail line\'s request id does not open its lines');
    await page.keyboard.press('Escape');
    await page.click('#tail-toggle');

    // 6. Sign out: everything shown is removed.
    await page.click('#signout');
    await page.locator('#signin-form').waitFor();
    assert((await page.locator('#routes tbody tr').count()) === 0 && (await page.locator('#logs > li').count()) === 0, 'data stays after sign-out');
    assert((await page.evaluate(() => sessionStorage.length)) === 0, 'the token stays in sessionStorage after sign-out');

    // 7. On a phone: readable, nothing wider than the screen but the tables' own scrolling.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const small = await phone.newPage();
    watch(small);
    await small.goto(pageUrl);
    await small.fill('#token', TOKEN);
    await small.tap('#signin-form button[type=submit]');
    await small.locator('#routes tbody tr', { hasText: 'GET /users/:id' }).first().waitFor();
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(overflow <= 0, `the page is ${overflow} px wider than a phone screen`);
    await small.screenshot({ path: join(SHOTS, '06-phone.png'), fullPage: true });
    await phone.close();

    assert(problems.length === 0, `the page reported problems (a CSP violation shows here):\n${problems.join('\n')}`);
    console.log(`browser: ${browser.version()}; ${routes.length} routes shown; ${written.length} lines for one request id; tail showed a new request after ${tailMs} ms; screenshots in ${SHOTS}`);
    await context.close();
    await held.catch(() => undefined);
  } finally {
    await browser.close();
    await stop(app.proc);
  }
});
