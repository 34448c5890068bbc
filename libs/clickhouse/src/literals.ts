// ClickHouse SQL literals. Debian's ClickHouse 18.16 has no query parameters, so every
// value that reaches SQL text goes through these functions and nothing else.
// Wire fact: in a quoted string ClickHouse reads backslash escapes (\\, \', \n, \t, \r, \0, \b, \f, \xHH).

const STRING_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};

/** A ClickHouse string literal, quoted and escaped. */
export function quoteString(value: string): string {
  return `'${value.replace(/[\\'\n\r\t\0\b\f]/g, (c) => STRING_ESCAPES[c] ?? c)}'`;
}

/** A ClickHouse identifier in backquotes. Refuses names with control characters. */
export function quoteIdentifier(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (name.length === 0 || /[\u0000-\u001f]/.test(name)) throw new Error(`invalid ClickHouse identifier: ${JSON.stringify(name)}`);
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** An unsigned integer literal; refuses anything else. */
export function quoteUInt(value: number | bigint): string {
  if (typeof value === 'number' && (!Number.isSafeInteger(value) || value < 0)) throw new Error(`not an unsigned integer: ${value}`);
  if (typeof value === 'bigint' && value < 0n) throw new Error(`not an unsigned integer: ${value}`);
  return String(value);
}

/** A comma-separated list of string literals for IN (...). */
export function quoteStringList(values: readonly string[]): string {
  return values.map(quoteString).join(', ');
}
