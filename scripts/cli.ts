/**
 * Command-line parsing shared by the helper scripts (hook, check-registration, sandbox, demo):
 * an unknown or malformed flag is one line on stderr and exit code 2, never a stack trace
 * (issue 10, "unknown flags give one line, not a stack"). node:util's parseArgs throws a TypeError
 * with a readable message (`Unknown option '--x'`); this turns it into that line.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { oneLine } from '../src/config/startup.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strictly parsed flags (no positionals); on a bad flag prints `<program>: <message> (--help for usage)` and exits 2. */
export function parseFlags<const O extends Options>(
  program: string,
  options: O,
  args: string[] = process.argv.slice(2),
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${program}: ${oneLine(message)} (--help for usage)\n`);
    process.exit(2);
  }
}
