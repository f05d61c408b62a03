/**
 * Probe: does a genre chip ("What do you like to read?") seed the feed on the shipped catalog? Runs the
 * real Engine in Node (fake IndexedDB, the app's USE Lite on TF.js WASM, the catalog's precomputed
 * vectors and shipped global model when present) as a first visit that chooses one genre and likes
 * nothing, and reports the share of the top 20 that has that genre:
 *   popular  — the feed before the choice (popularity order);
 *   profile  — right after the choice, before the recommendation model starts (content profile);
 *   model    — once the model has started and fine-tuned on the genre's seed books (weak likes).
 *
 *   npx tsx cli/probe-genre-chips.ts [--genres horror,mystery,...] [--catalog public/catalog/goodbooks-10k.json]
 */
import 'fake-indexeddb/auto';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { prebuiltEmbeddingsUrl } from '../src/core/prebuilt-embeddings';
import { shippedGlobalUrl } from '../src/core/model/shipped-global';
import { modelIdFor } from '../src/core/model/identity';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import type { EngineSnapshot } from '../src/engine/api';
import { encoderOption, startTestEngine } from '../src/engine/testing/harness';
import { loadNodeEncoder } from './build-embeddings';

const { values } = parseArgs({
  options: {
    genres: { type: 'string', default: 'horror,mystery,science-fiction,romance,history,graphic-novels' },
    catalog: { type: 'string', default: 'public/catalog/goodbooks-10k.json' },
    top: { type: 'string', default: '20' },
  },
});
const top = Number(values.top);
const catalogPath = values.catalog!;
const catalogText = await readFile(catalogPath, 'utf8');
const catalogUrl = '/catalog.json';
const embPath = catalogPath.replace(/\.json$/, `.${USE_LITE_ID}.emb`);
// The file name as the app asks for it (the model id's '@' is spelled '_' there).
const globalPath = join(dirname(catalogPath), basename(shippedGlobalUrl(`/${basename(catalogPath)}`, modelIdFor(USE_LITE_ID))));
const files: Record<string, Uint8Array> = {};
if (existsSync(embPath)) files[prebuiltEmbeddingsUrl(catalogUrl, USE_LITE_ID)] = new Uint8Array(await readFile(embPath));
if (existsSync(globalPath)) files[shippedGlobalUrl(catalogUrl, modelIdFor(USE_LITE_ID))] = new Uint8Array(await readFile(globalPath));
console.error(`catalog ${catalogPath}; precomputed vectors: ${existsSync(embPath) ? embPath : 'none'}; shipped global: ${existsSync(globalPath) ? globalPath : 'none'}`);
if (!existsSync(embPath)) throw new Error('The probe needs the precomputed vectors (reading 10,000 books here would take minutes per run).');

const encoder = await loadNodeEncoder(USE_LITE_ID);
const genresOf = new Map<string, string[]>(
  (JSON.parse(catalogText) as { items: { id: string; genres?: string[] }[] }).items.map((item) => [String(item.id), item.genres ?? []]),
);
const share = (snapshot: EngineSnapshot, genre: string) => {
  const feed = snapshot.feed.slice(0, top);
  return feed.filter((item) => genresOf.get(item.id)?.includes(genre)).length / feed.length;
};

const rows: Record<string, { popular: number; profile: number; model: number; modelTop10: string[] }> = {};
for (const genre of values.genres!.split(',')) {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const harness = await startTestEngine([], {
    feedSize: top,
    overrides: {
      fetchText: async () => catalogText,
      fetchBytes: async (url) => files[url],
      // Held: the precomputed vectors rank, unchecked, and the model does not start until released.
      loadEncoder: async () => (await held, encoder),
      listEncoders: async () => [encoderOption(encoder, { bundled: true })],
    },
  });
  await harness.until((s) => s.prebuilt?.state === 'checking', 60_000);
  const popular = share(harness.latest(), genre);
  await harness.engine.setGenre(genre, true);
  const profile = share(harness.latest(), genre);
  release();
  const trained = await harness.until((s) => (s.training?.losses.length ?? 0) > 0 && !s.training?.progress, 300_000);
  rows[genre] = { popular, profile, model: share(trained, genre), modelTop10: trained.feed.slice(0, 10).map((item) => item.title) };
  console.error(genre, rows[genre]);
}
console.log(JSON.stringify({ top, rows }, null, 2));
process.exit(0);
