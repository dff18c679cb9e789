// Reads the examples out of Markdown: fenced code blocks, each with the `<!-- example: ... -->` comment on the line
// right above its fence (rendered Markdown hides it), and the output blocks that follow them. See docs.mjs.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Languages whose blocks are programs to run. */
export const CODE_LANGUAGES = new Set(['js', 'javascript', 'cjs', 'mjs', 'ts', 'typescript']);
/** Languages whose blocks are shell commands. */
export const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell', 'console']);
/**
 * Languages of blocks that are shown, not run (data, configuration of other programs, other query languages). A
 * block in any language outside these three lists is an error, so that nothing is skipped unnoticed.
 */
export const SHOWN_LANGUAGES = new Set(['', 'json', 'http', 'text', 'yaml', 'yml', 'ini', 'nginx', 'haproxy', 'dockerfile', 'promql', 'logql', 'kql', 'lucene', 'toml', 'diff']);

/**
 * Parses `key=value key="a value" key='a "quoted" value'` into an object; a key given more than once collects its
 * values in an array (`request`). A key without `=` is `true`.
 * @throws {Error} on text that is not of that form.
 */
export function parseDirective(text) {
  const out = {};
  const re = /\s*([a-z][a-z0-9-]*)(?:=("([^"]*)"|'([^']*)'|([^\s"']+)))?(?=\s|$)/gy;
  let at = 0;
  const source = text.trim();
  while (at < source.length) {
    re.lastIndex = at;
    const m = re.exec(source);
    if (m === null || m[0].length === 0) throw new Error(`cannot read "${source.slice(at)}" in <!-- example: ${source} -->`);
    const key = m[1];
    const value = m[3] ?? m[4] ?? m[5] ?? true;
    if (key === 'request') (out.request ??= []).push(value);
    else if (key in out) throw new Error(`"${key}" is given twice in <!-- example: ${source} -->`);
    else out[key] = value;
    at = re.lastIndex;
    while (source[at] === ' ') at++;
  }
  return out;
}

/**
 * Every fenced block of a Markdown file: `{ file, line, lang, code, directive, outputs }`. `directive` is the parsed
 * `<!-- example: ... -->` comment right above the fence (or undefined); blocks marked `<!-- example-output -->` are
 * not returned themselves but collected in `outputs` (`{ kind, code, line }`) of the block right before them.
 * Problems: a comment that looks like a directive but is not one exactly, an output block that does not follow an
 * example directly, a block in an unknown language, an untagged block holding code, an unclosed fence.
 * @throws {Error} (with file and line) on the first problem, unless `problems` (an array) collects them.
 */
export function extractBlocks(file, text = readFileSync(file, 'utf8'), problems = undefined) {
  const lines = text.split('\n');
  const blocks = [];
  /** Without `problems`, the first problem throws; with it, each is added there and the reading goes on. */
  const problem = (i, reason) => {
    if (problems === undefined) throw new Error(`${file}:${i + 1}: ${reason}`);
    problems.push({ file, line: i + 1, reason });
  };
  /** The block before the current one, and whether only output blocks came between. */
  let previous;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/^\s*>\s?/, ''); // a block quote's marker
    // A comment that means to be a directive must be one exactly.
    const comment = /<!--\s*(ex\w*)([:-]?)/i.exec(line);
    if (comment !== null && !/^\s*<!--\s*(example:.*|example-output(?::\s*\S+)?\s*)-->\s*$/.test(line)) {
      problem(i, `"${line.trim()}" is not <!-- example: ... --> or <!-- example-output[: kind] -->`);
      continue;
    }
    if (/^\s*<!--\s*example-output/.test(line) && !/^\s*(`{3,}|~{3,})/.test(lines[i + 1] ?? '')) {
      problem(i, `<!-- example-output --> must be on the line right above its block's fence`);
      continue;
    }
    if (/^\s*<!--\s*example:/.test(line) && !/^\s*(`{3,}|~{3,})/.test(lines[i + 1] ?? '')) {
      problem(i, `<!-- example: --> must be on the line right above its block's fence`);
      continue;
    }
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(line);
    if (open === null) continue;
    const fence = open[2];
    const lang = open[3].toLowerCase();
    const start = i;
    const body = [];
    for (i++; i < lines.length && !lines[i].replace(/^\s*>\s?/, '').trimStart().startsWith(fence); i++) {
      body.push(lines[i].replace(/^\s*>\s?/, '').slice(open[1].length));
    }
    if (i >= lines.length) {
      problem(start, 'a code fence is never closed');
      break;
    }
    if (!CODE_LANGUAGES.has(lang) && !SHELL_LANGUAGES.has(lang) && !SHOWN_LANGUAGES.has(lang)) {
      problem(start, `a block in "${lang}": tag runnable code js, ts or sh, and shown text one of ${[...SHOWN_LANGUAGES].filter(Boolean).join(', ')}`);
      previous = undefined;
      continue;
    }
    const above = start > 0 ? lines[start - 1].replace(/^\s*>\s?/, '').trim() : '';
    const code = body.join('\n') + '\n';
    if (lang === '' && /\brequire\(['"]|^\s*(const|let|import|app\.use|app\.get)\b/m.test(code)) {
      problem(start, 'an untagged block that looks like code: tag it js (or text)');
      previous = undefined;
      continue;
    }
    const output = /^<!--\s*example-output(?::\s*(\S+))?\s*-->$/.exec(above);
    if (output !== null) {
      if (previous === undefined || !(CODE_LANGUAGES.has(previous.lang) || SHELL_LANGUAGES.has(previous.lang))) {
        problem(start, '<!-- example-output --> must follow the example it is the output of');
        continue;
      }
      previous.outputs.push({ kind: output[1] ?? 'lines', code, line: start + 1 });
      continue;
    }
    const marked = /^<!--\s*example:(.*)-->$/.exec(above);
    let directive;
    if (marked !== null) {
      try {
        directive = parseDirective(marked[1]);
      } catch (err) {
        problem(start - 1, err.message);
        previous = undefined;
        continue;
      }
    }
    const block = { file, line: start + 1, lang, code, directive, outputs: [] };
    blocks.push(block);
    previous = block; // a shown block too: an output after it has no example right above
  }
  return blocks;
}

/** `METHOD /path [JSON body] -> status`, as in `request='POST /login {"a":1} -> 401'`. */
export function parseRequest(text) {
  const m = /^([A-Z]+)\s+(\S+)(?:\s+(?!->)(.+?))?(?:\s+->\s*(\d{3}))?$/.exec(text.trim());
  if (m === null) throw new Error(`request "${text}" is not "METHOD /path [JSON body] -> status"`);
  if (m[4] === undefined) throw new Error(`request "${text}" says no status: end it with "-> 200" (or the status it must answer)`);
  if (m[3] !== undefined) {
    try {
      JSON.parse(m[3]);
    } catch {
      throw new Error(`request "${text}": its body is not JSON`);
    }
  }
  return { method: m[1], path: m[2], body: m[3], status: Number(m[4]) };
}

/** GitHub's anchor of a heading. */
function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(file) {
  const anchors = new Set();
  const counts = new Map();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of readFileSync(file, 'utf8').matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(m[1]);
  return anchors;
}

/**
 * Relative links and anchors that do not resolve: inline links (`[a](b.md#c)`, with `<...>` or a title), reference
 * definitions (`[a]: b.md`) and HTML `href`s, outside code.
 */
export function brokenLinks(file) {
  const problems = [];
  let fenced = false;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
      if (fenced) return;
      const text = line.replace(/`[^`]*`/g, '');
      const targets = [
        ...[...text.matchAll(/\]\(\s*(?:<([^>]+)>|([^)\s]+))(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)].map((m) => m[1] ?? m[2]),
        ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*<?([^\s>]+)>?/g)].map((m) => m[1]),
        ...[...text.matchAll(/\bhref="([^"]+)"/g)].map((m) => m[1]),
      ];
      for (const target of targets) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const [path, anchor] = target.split('#');
        const to = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
        if (!existsSync(to)) problems.push({ file, line: i + 1, reason: `link to ${target}: no such file` });
        else if (anchor !== undefined && to.endsWith('.md') && !anchorsOf(to).has(anchor)) {
          problems.push({ file, line: i + 1, reason: `link to ${target}: no heading with that anchor` });
        }
      }
    });
  return problems;
}
