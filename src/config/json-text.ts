/**
 * JSON configuration text (CDS_CLIENTS, RULES_CONFIG, SITE_CODES, card templates) parsed so that a
 * mistake can be reported on one line with its line and column.
 *
 * Why a scanner of our own: Node 20's V8 reports a JSON syntax error as `Unexpected token '}',
 * "<the whole text>" is not valid JSON`, i.e. without a position and echoing the content (newer V8
 * versions add "(line x column y)", Node 20 does not). The content must not reach the start-up
 * line (a file may be large, or hold something the operator did not mean to print), so the position
 * is found by this small RFC 8259 scanner, run only after JSON.parse has failed.
 *
 * A UTF-8 byte-order mark is accepted and dropped: Windows editors (Notepad) write one, and
 * RFC 8259 section 8.1 allows a parser to ignore it.
 */

export type JsonTextResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly line: number; readonly column: number; readonly reason: string };

const BOM = '\uFEFF';

export function stripBom(text: string): string {
  return text.startsWith(BOM) ? text.slice(1) : text;
}

/** Parses JSON text; on a syntax error, says where (1-based line and column) and what was expected. */
export function parseJsonText(raw: string): JsonTextResult {
  const text = stripBom(raw);
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    const found = locateJsonError(text);
    const { line, column } = lineAndColumn(text, found.offset);
    return { ok: false, line, column, reason: found.reason };
  }
}

/** `JSON syntax error at line 3, column 14: expected ',' or '}'`, for a start-up message. */
export function describeJsonError(result: { line: number; column: number; reason: string }): string {
  return `JSON syntax error at line ${result.line}, column ${result.column}: ${result.reason}`;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i += 1) {
    if (text.charCodeAt(i) === 10) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class JsonSyntax extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** The offset and nature of the first syntax error in `text` (which JSON.parse refused). */
export function locateJsonError(text: string): { offset: number; reason: string } {
  let i = 0;
  const fail = (reason: string): never => {
    throw new JsonSyntax(i, i >= text.length ? `${reason}, but the text ends here` : reason);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i += 1;
  };
  const literal = (word: string) => {
    for (const char of word) {
      if (text.charAt(i) !== char) fail(`expected ${word}`);
      i += 1;
    }
  };
  const string = () => {
    i += 1; // opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const code = text.charCodeAt(i);
      if (code === 0x22) {
        i += 1;
        return;
      }
      if (code < 0x20) fail('control character (such as a line break) inside a string');
      if (code === 0x5c) {
        i += 1;
        const escape = text.charAt(i);
        if (escape === 'u') {
          for (let k = 1; k <= 4; k += 1) {
            if (!/[0-9a-fA-F]/.test(text.charAt(i + k))) {
              i += k;
              fail('bad \\u escape in a string');
            }
          }
          i += 5;
        } else if ('"\\/bfnrt'.includes(escape) && escape !== '') {
          i += 1;
        } else {
          fail('bad escape in a string');
        }
      } else {
        i += 1;
      }
    }
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (match === null || match[0] === '' || match[0] === '-') fail('expected a value');
    i += match?.[0].length ?? 0;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail('nested too deeply');
    ws();
    const char = text.charAt(i);
    if (char === '{') {
      i += 1;
      ws();
      if (text.charAt(i) === '}') {
        i += 1;
        return;
      }
      for (;;) {
        ws();
        if (text.charAt(i) !== '"') fail('expected a property name in double quotes');
        string();
        ws();
        if (text.charAt(i) !== ':') fail("expected ':' after a property name");
        i += 1;
        value(depth + 1);
        ws();
        if (text.charAt(i) === ',') {
          i += 1;
          ws();
          if (text.charAt(i) === '}') fail("expected a property name (a trailing ',' is not allowed)");
          continue;
        }
        if (text.charAt(i) === '}') {
          i += 1;
          return;
        }
        fail("expected ',' or '}'");
      }
    }
    if (char === '[') {
      i += 1;
      ws();
      if (text.charAt(i) === ']') {
        i += 1;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text.charAt(i) === ',') {
          i += 1;
          ws();
          if (text.charAt(i) === ']') fail("expected a value (a trailing ',' is not allowed)");
          continue;
        }
        if (text.charAt(i) === ']') {
          i += 1;
          return;
        }
        fail("expected ',' or ']'");
      }
    }
    if (char === '"') return string();
    if (char === 't') return literal('true');
    if (char === 'f') return literal('false');
    if (char === 'n') return literal('null');
    if (char === "'") fail('strings and names need double quotes');
    number();
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail('unexpected text after the JSON value');
    // JSON.parse refused what this scanner accepts: should not happen; point at the start.
    return { offset: 0, reason: 'not valid JSON' };
  } catch (error) {
    if (error instanceof JsonSyntax) return { offset: error.offset, reason: error.reason };
    throw error;
  }
}
