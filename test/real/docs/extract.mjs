// Reads the examples out of Markdown: fenced code blocks, each with the `<!-- example: ... -->` comment on the line
// right above its fence (rendered Markdown hides it), and the output blocks that follow them. See docs.mjs.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Languages whose blocks are programs to run. */
export const CODE_LANGUAGES = new Set(['js', 'javascript', 'cjs', 'mjs', 'ts', 'typescript']);
/** Languages whose blocks are shell commands. */
export const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell', 'console']);

/**
 * Parses `key=value key="a value" key='a "quoted" value'` into an object; a key given more than once collects its
 * values in an array (`request`).
 * @throws {Error} on text that is not of that form.
 */
export function parseDirective(text) {
  const out = {};
  const re = /\s*([a-z][a-z0-9-]*)(?:=("([^"]*)"|'([^']*)'|(\S+)))?/gy;
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
 * Every fenced block of a Markdown file: `{ file, line, lang, code, directive, output }`. `directive` is the parsed
 * `<!-- example: ... -->` comment right above the fence (or undefined); a block marked `<!-- example-output -->` is
 * not returned itself but attached as `output` (`{ kind, code, line }`) to the code block before it.
 */
export function extractBlocks(file, text = readFileSync(file, 'utf8')) {
  const lines = text.split('\n');
  const blocks = [];
  let last;
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]);
    if (open === null) continue;
    const fence = open[2];
    const lang = open[3].toLowerCase();
    const start = i;
    const body = [];
    for (i++; i < lines.length && !lines[i].trimStart().startsWith(fence); i++) body.push(lines[i].slice(open[1].length));
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: a code fence is never closed`);
    const above = start > 0 ? lines[start - 1].trim() : '';
    const code = body.join('\n') + '\n';
    const output = /^<!--\s*example-output(?::\s*(\S+))?\s*-->$/.exec(above);
    if (output !== null) {
      if (last === undefined) throw new Error(`${file}:${start + 1}: <!-- example-output --> with no example above it`);
      last.output = { kind: output[1] ?? 'lines', code, line: start + 1 };
      continue;
    }
    const marked = /^<!--\s*example:(.*)-->$/.exec(above);
    let directive;
    if (marked !== null) {
      try {
        directive = parseDirective(marked[1]);
      } catch (err) {
        throw new Error(`${file}:${start}: ${err.message}`);
      }
    }
    const block = { file, line: start + 1, lang, code, directive, output: undefined };
    blocks.push(block);
    if (CODE_LANGUAGES.has(lang) || SHELL_LANGUAGES.has(lang)) last = block;
  }
  return blocks;
}

/** `METHOD /path [json body] [-> status]`, as in `request="POST /login {"a":1} -> 401"`. */
export function parseRequest(text) {
  const m = /^([A-Z]+)\s+(\S+)(?:\s+(?!->)(.+?))?(?:\s+->\s*(\d{3}))?$/.exec(text.trim());
  if (m === null) throw new Error(`request "${text}" is not "METHOD /path [body] [-> status]"`);
  return { method: m[1], path: m[2], body: m[3], status: m[4] === undefined ? undefined : Number(m[4]) };
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
  return anchors;
}

/** Relative links and anchors that do not resolve. */
export function brokenLinks(file) {
  const problems = [];
  let fenced = false;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
      if (fenced) return;
      for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/i.test(target)) continue;
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

