/**
 * `npm run bench -- <name> [options]`: runs cli/bench-<name>.ts, which prints its figures
 * (a Markdown table on stdout; `--json FILE` for machines). Speed and quality targets are checked
 * here, never by timed tests.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = (await readdir(here))
  .map((file) => /^bench-(.+)\.ts$/.exec(file)?.[1])
  .filter((name): name is string => Boolean(name))
  .sort();
const [name, ...rest] = process.argv.slice(2);

if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  process.exit(name ? 2 : 0);
}
process.argv = [process.argv[0]!, join(here, `bench-${name}.ts`), ...rest];
await import(pathToFileURL(join(here, `bench-${name}.ts`)).href);
