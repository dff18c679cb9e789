/** Every key and string value in a parsed log line, at any depth, so an assertion can cover the whole object. */
export function lineTexts(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) lineTexts(item, out);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      out.push(key);
      lineTexts(item, out);
    }
  }
  return out;
}
