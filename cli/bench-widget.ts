/**
 * `npm run bench -- widget [--json FILE]`: bytes a host page downloads for the widget before the
 * engine loads, from the built files (run `npm run build` first). Follows each entry's static imports
 * (Vite's manifest); dynamic imports and the worker, fetched only once the widget is on screen, are
 * reported apart. Target: the custom element's script ≤ 60 KB gzip.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const { values } = parseArgs({ options: { json: { type: 'string' } } });
const DIST = 'dist';
const TARGET_GZIP_BYTES = 60 * 1024;

interface ManifestChunk {
  file: string;
  imports?: string[];
  dynamicImports?: string[];
  isEntry?: boolean;
}

const manifestPath = join(DIST, '.vite', 'manifest.json');
if (!existsSync(manifestPath)) {
  console.error('dist/.vite/manifest.json is missing: run `npm run build` first.');
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, ManifestChunk>;

/** The files an entry loads before any of its code runs: itself and its static imports, transitively. */
function staticClosure(key: string, seen = new Set<string>()): Set<string> {
  if (seen.has(key)) return seen;
  seen.add(key);
  for (const imported of manifest[key]?.imports ?? []) staticClosure(imported, seen);
  return seen;
}

function sizes(files: string[]): { raw: number; gzip: number } {
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = readFileSync(join(DIST, file));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { raw, gzip };
}

const rows: { name: string; files: number; raw: number; gzip: number }[] = [];
const measure = (name: string, key: string) => {
  const files = [...staticClosure(key)].map((k) => manifest[k]!.file);
  rows.push({ name, files: files.length, ...sizes(files) });
};
measure('custom element (widget.js + static imports)', 'src/widget/private-recs.ts');
measure('iframe host helper (private-recs-host.js + static imports)', 'src/widget/host.ts');
measure('embed page script (inside the iframe)', 'embed.html');
// The engine worker and everything it can load (its encoder worker, TF.js, Transformers.js): fetched only
// once a widget comes near the viewport. Worker chunks are not in Vite's manifest, so the closure follows
// the chunk files' own references to sibling chunks ("./name-hash.js", and the nested worker's URL).
function chunkClosure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(DIST, 'assets', file), 'utf8');
  for (const [, referenced] of text.matchAll(/["'`](?:\.\/)?([\w.-]+\.js)["'`]/g)) {
    if (existsSync(join(DIST, 'assets', referenced!))) chunkClosure(referenced!, seen);
  }
  return seen;
}
const engineWorker = readdirSync(join(DIST, 'assets')).find((file) => /^worker-.*\.js$/.test(file));
const lazy = engineWorker ? [...chunkClosure(engineWorker)].map((file) => `assets/${file}`) : [];
rows.push({ name: 'engine worker and all it may load (lazy: when the widget is on screen)', files: lazy.length, ...sizes(lazy) });

console.log(`\n| bundle | files | raw KB | gzip KB |\n|---|---:|---:|---:|`);
for (const row of rows) console.log(`| ${row.name} | ${row.files} | ${(row.raw / 1024).toFixed(1)} | ${(row.gzip / 1024).toFixed(1)} |`);
const element = rows[0]!;
console.log(`\ncustom element before the engine loads: ${(element.gzip / 1024).toFixed(1)} KB gzip (target ≤ ${TARGET_GZIP_BYTES / 1024} KB): ${element.gzip <= TARGET_GZIP_BYTES ? 'met' : 'MISSED'}`);
if (values.json) {
  await mkdir(dirname(values.json), { recursive: true });
  await writeFile(values.json, JSON.stringify(rows, null, 2));
}
