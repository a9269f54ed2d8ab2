/**
 * The fixture loader: `npm run fixtures:load -- --fhir <FHIR R4 base> [--token ..] [--only ..]
 * [--now ..] [--json]`, `--list --run <tag>`, `--delete --run <tag>`. See
 * src/fixture-loader/fixture-loader-cli.ts.
 */
import { runFixtureLoaderCli } from '../src/fixture-loader/fixture-loader-cli.js';

process.exitCode = await runFixtureLoaderCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
