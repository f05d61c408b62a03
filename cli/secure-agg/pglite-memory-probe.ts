/**
 * `npx tsx cli/secure-agg/pglite-memory-probe.ts [--reports N] [--mode collect|arrival] [--vacuum-every K]`: where the
 * embedded database's memory goes when it stores a verifiable collection as the leader does (docs/secure-aggregation.md
 * "Stop 40: the 1,000-device round repeated (SVC)"). One in-memory PGlite with the service's store (server/verifiable/
 * store.ts, the same migrations and codec): each report's upload (random bytes, the leader's size at the W, q, b length on
 * Field64) inserted, then decided (the upload erased, an output share of random bytes written) — all inserts first
 * (`collect`, the default: verification at the collect) or each decided after its insert (`arrival`). Every `--every`
 * reports it prints the process's memory (RSS, V8 heap, external, array buffers), PGlite's WASM heap, and the bytes of
 * its in-memory file system (used, and allocated: Emscripten's MEMFS grows a file by 12.5 % with a copy).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { openVerifiableDatabase, VerifiableStore } from '../../server/verifiable/store';

const { values: args } = parseArgs({
  options: {
    reports: { type: 'string', default: '1000' },
    mode: { type: 'string', default: 'collect' },
    'vacuum-every': { type: 'string', default: '0' },
    every: { type: 'string', default: '100' },
    'max-wal-size': { type: 'string' },
    unlogged: { type: 'boolean', default: false },
    upload: { type: 'string', default: '499584' },
    share: { type: 'string', default: '458752' },
  },
  strict: true,
});
const N = Number(args.reports);
const VACUUM = Number(args['vacuum-every']);
const EVERY = Number(args.every);

// The PGlite instance the store opens (for its WASM heap and file system).
let pglite: PGlite | undefined;
const create = PGlite.create.bind(PGlite);
const extra = args['max-wal-size'] ? ['-c', `max_wal_size=${args['max-wal-size']}`, '-c', `min_wal_size=${args['max-wal-size']}`] : [];
(PGlite as unknown as { create: (o: object) => Promise<PGlite> }).create = async (options: object) =>
  (pglite = await create({ ...options, startParams: [...PGlite.defaultStartParams, ...extra] }));

const db = await openVerifiableDatabase({});
if (args.unlogged) await db.query('ALTER TABLE vdaf_reports SET UNLOGGED');
const store = new VerifiableStore(db);
type Node = { contents?: Uint8Array | null; usedBytes?: number; isFolder?: boolean; contents_?: unknown };
function fsBytes(): { used: number; allocated: number; largest: string; wal: number } {
  const FS = (pglite as unknown as { Module: { FS: { lookupPath: (p: string) => { node: { contents: Record<string, Node> } } } } }).Module.FS;
  let used = 0;
  let allocated = 0;
  let largest = { name: '', bytes: 0 };
  let wal = 0;
  const walk = (dir: Record<string, Node>, path: string) => {
    for (const [name, node] of Object.entries(dir)) {
      if (node.contents instanceof Uint8Array) {
        used += node.usedBytes ?? 0;
        if (path.includes('/pg_wal')) wal += node.contents.byteLength;
        allocated += node.contents.byteLength;
        if (node.contents.byteLength > largest.bytes) largest = { name: `${path}/${name}`, bytes: node.contents.byteLength };
      } else if (node.contents && typeof node.contents === 'object') walk(node.contents as unknown as Record<string, Node>, `${path}/${name}`);
    }
  };
  walk(FS.lookupPath('/pglite').node.contents, '/pglite');
  return { used, allocated, wal, largest: `${largest.name} ${(largest.bytes / 2 ** 20).toFixed(0)} MiB` };
}
const mib = (b: number) => (b / 2 ** 20).toFixed(0);
const started = performance.now();
function report(step: string): void {
  const m = process.memoryUsage();
  const wasm = (pglite as unknown as { Module: { HEAPU8: Uint8Array } }).Module.HEAPU8.byteLength;
  const fs = fsBytes();
  console.log(
    `${step.padEnd(16)} t ${((performance.now() - started) / 1000).toFixed(1)} s  rss ${mib(m.rss)}  heapUsed ${mib(m.heapUsed)}  external ${mib(m.external)}  arrayBuffers ${mib(m.arrayBuffers)}  wasm ${mib(wasm)}  memfs used ${mib(fs.used)} / allocated ${mib(fs.allocated)} MiB (WAL ${mib(fs.wal)}; largest ${fs.largest})`,
  );
}
const task = 'probe';
const nonces: Uint8Array[] = [];
const insert = async (i: number) => {
  const upload = randomBytes(Number(args.upload));
  nonces[i] = upload.subarray(0, 16);
  await store.insertReport(task, nonces[i]!, upload, new Date());
};
const decide = async (i: number) => {
  await store.decide(task, nonces[i]!, { accepted: true, outputShare: randomBytes(Number(args.share)) }, new Date());
  if (VACUUM > 0 && (i + 1) % VACUUM === 0) await db.query('VACUUM vdaf_reports');
};
report('start');
if (args.mode === 'arrival') {
  for (let i = 0; i < N; i++) {
    await insert(i);
    await decide(i);
    if ((i + 1) % EVERY === 0) report(`stored+decided ${i + 1}`);
  }
} else {
  for (let i = 0; i < N; i++) {
    await insert(i);
    if ((i + 1) % EVERY === 0) report(`stored ${i + 1}`);
  }
  for (let i = 0; i < N; i++) {
    await decide(i);
    if ((i + 1) % EVERY === 0) report(`decided ${i + 1}`);
  }
}
global.gc?.();
report('end (gc)');
await db.close();
