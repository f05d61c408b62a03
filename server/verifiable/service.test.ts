/**
 * The verifiable mode's two services over real HTTP, each with its own database: embedded (PGlite) always, and
 * PostgreSQL when AGGREGATOR_TEST_DATABASE_URL is set (CI starts one: .ci/run; each aggregator then gets its
 * own schema, as server/aggregator.test.ts does).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { decodeModelFile, encodeModelFile } from '../../src/core/federated/format';
import { flatten, type ParamSet } from '../../src/core/federated/params';
import { base64UrlDecode } from '../../src/engine/aggregator-client';
import { appVerifiableTask, collectionRotationSeed } from '../../src/core/secagg/verifiable-app';
import { decodeVerifiableSum, encodeForVerifiable } from '../../src/core/secagg/verifiable/encode';
import { buildReport, entryBound, makeVdaf, type Report, type VerifiableParams } from '../../src/core/secagg/verifiable/prio';
import { parseGlobalModel, type GlobalModel } from '../base-model';
import { CollectionModels, type CollectionInfo } from './models';
import { forgedPine } from '../../src/core/secagg/verifiable/testing';
import type { Listening } from '../http';
import type { SqlDatabase } from '../storage/sql';
import { testDatabase } from '../testing';
import { listenVerifiable } from './http';
import { VerifiableAggregator, type VerifiableConfig } from './service';
import { openVerifiableDatabase, VERIFIABLE_MIGRATIONS, VerifiableStore } from './store';

const PG_URL = process.env.AGGREGATOR_TEST_DATABASE_URL;
const databases: { name: string; url: string | undefined }[] = [{ name: 'PGlite', url: undefined }];
if (PG_URL) databases.push({ name: 'PostgreSQL', url: PG_URL });
else
  describe('PostgreSQL', () => it.skip('skipped: set AGGREGATOR_TEST_DATABASE_URL (postgres://…) to run the verifiable services against PostgreSQL', () => {}));

/** One aggregator's database: its own in-memory PGlite, or its own schema on the PostgreSQL server. */
const openDatabase = (url: string | undefined): Promise<SqlDatabase> => (url ? testDatabase(url, VERIFIABLE_MIGRATIONS) : openVerifiableDatabase({}));

const PARAMS: VerifiableParams = { length: 32, bits: 6 };
const B = entryBound(PARAMS.bits);
const TOKEN = 'peer-token-0123456789abcdef';

interface Pair {
  leader: Listening;
  helper: Listening;
  leaderDb: SqlDatabase;
  helperDb: SqlDatabase;
  logs: string[];
  common: Omit<VerifiableConfig, 'role'>;
}
let open: Pair | undefined;

afterEach(async () => {
  if (!open) return;
  await open.leader.close();
  await open.helper.close();
  open = undefined;
});

/**
 * The two databases, opened once per database kind (an embedded PGlite takes seconds to open) and emptied for each
 * test: every test starts from empty tables, as with fresh databases.
 */
const opened = new Map<string, Promise<{ leaderDb: SqlDatabase; helperDb: SqlDatabase }>>();
async function emptyDatabases(url: string | undefined): Promise<{ leaderDb: SqlDatabase; helperDb: SqlDatabase }> {
  const key = url ?? 'pglite';
  if (!opened.has(key))
    opened.set(
      key,
      Promise.all([openDatabase(url), openDatabase(url)]).then(([leaderDb, helperDb]) => ({ leaderDb, helperDb })),
    );
  const dbs = await opened.get(key)!;
  for (const db of [dbs.leaderDb, dbs.helperDb]) await db.query('TRUNCATE vdaf_reports, vdaf_collections, vdaf_refusals, vdaf_models RESTART IDENTITY');
  return dbs;
}
afterAll(async () => {
  for (const dbs of opened.values()) {
    const { leaderDb, helperDb } = await dbs;
    await leaderDb.close();
    await helperDb.close();
  }
});

/** Two aggregators, each with its own database and HTTP server. */
async function startPair(
  url: string | undefined,
  params: VerifiableParams = PARAMS,
  app?: { base: GlobalModel; noise: { clipNorm: number; noiseMultiplier: number } },
  extra: Partial<VerifiableConfig> = {},
): Promise<Pair> {
  const verifyKey = crypto.getRandomValues(new Uint8Array(16));
  const logs: string[] = [];
  const task = app && CollectionModels.taskFor(app.base, app.noise);
  const common: Omit<VerifiableConfig, 'role'> = {
    taskId: 'task-1',
    params: task?.params ?? params,
    verifyKey,
    peerToken: TOKEN,
    log: (l) => logs.push(l),
    minBatch: 1,
    ...extra,
    ...(app && task ? { appTask: { deltaLength: task.deltaLength, ...app.noise } } : {}),
  };
  return listenPair(await emptyDatabases(url), common, logs, app);
}

/** The two services on these databases (a restart: new services on the databases of a pair that was closed). */
async function listenPair(
  { leaderDb, helperDb }: { leaderDb: SqlDatabase; helperDb: SqlDatabase },
  common: Omit<VerifiableConfig, 'role'>,
  logs: string[],
  app?: { base: GlobalModel; noise: { clipNorm: number; noiseMultiplier: number } },
): Promise<Pair> {
  const helper = await listenVerifiable(new VerifiableAggregator(new VerifiableStore(helperDb), { ...common, role: 'helper' }), {
    host: '127.0.0.1',
    port: 0,
    appOrigins: [],
  });
  const collections = app && (await CollectionModels.open(new VerifiableStore(leaderDb), 'task-1', app.base, app.noise));
  const leader = await listenVerifiable(
    new VerifiableAggregator(new VerifiableStore(leaderDb), { ...common, role: 'leader', helperUrl: helper.url, ...(collections ? { collections } : {}) }),
    {
      host: '127.0.0.1',
      port: 0,
      appOrigins: [],
    },
  );
  open = { leader, helper, leaderDb, helperDb, logs, common };
  return open;
}

async function upload(url: string, bytes: Uint8Array, collection?: string): Promise<number> {
  const r = await fetch(`${url}/v1/verifiable/reports${collection ? `?collection=${collection}` : ''}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: bytes as BodyInit,
  });
  await r.arrayBuffer();
  return r.status;
}

async function submit(pair: Pair, report: Report): Promise<void> {
  expect(await upload(pair.leader.url, report.leader)).toBe(201);
  expect(await upload(pair.helper.url, report.helper)).toBe(201);
}

async function collect(pair: Pair, token = TOKEN): Promise<{ status: number; body: { reports?: number; rejected?: number; sum?: number[]; error?: string } }> {
  const r = await fetch(`${pair.leader.url}/v1/verifiable/collect`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  return { status: r.status, body: (await r.json()) as { reports?: number; rejected?: number; sum?: number[] } };
}

const vector = () => Array.from({ length: PARAMS.length }, () => Math.floor(Math.random() * 2 * B) - B);

describe.each(databases)('verifiable mode on $name: leader and helper services, each with its own database', ({ url }) => {
  it('collects the exact sum of the honest reports and drops a forged one, a tampered share, split public shares and a half-sent one', async () => {
    const pair = await startPair(url);
    const honest = [vector(), vector(), vector()];
    for (const x of honest) await submit(pair, await buildReport(PARAMS, x));
    // forged: entry 0's top "bit" is 5, the proof made honestly over it (an attacker's own encoder)
    const forger = makeVdaf(PARAMS);
    const zeros = Array<number>(PARAMS.length).fill(0);
    (forger.flp as { encode: (m: number[]) => bigint[] }).encode = () =>
      zeros.flatMap(() => Array.from({ length: PARAMS.bits }, (_, bit) => (bit === PARAMS.bits - 1 ? 5n : 0n)));
    await submit(pair, await buildReport(PARAMS, zeros, forger));
    // a tampered leader share (one byte of the measurement share)
    const tampered = await buildReport(PARAMS, vector());
    tampered.leader[48] = tampered.leader[48]! ^ 1;
    await submit(pair, tampered);
    // different public shares to the two aggregators (one byte of the helper's copy)
    const split = await buildReport(PARAMS, vector());
    split.helper[20] = split.helper[20]! ^ 1;
    await submit(pair, split);
    // sent to the leader only
    const half = await buildReport(PARAMS, vector());
    expect(await upload(pair.leader.url, half.leader)).toBe(201);

    const { status, body } = await collect(pair);
    expect(status).toBe(200);
    expect(body.reports).toBe(3);
    expect(body.rejected).toBe(4);
    expect(body.sum).toEqual(Array.from({ length: PARAMS.length }, (_, j) => honest.reduce((s, x) => s + x[j]!, 0)));
    // both databases agree: 3 collected, the forged, tampered and split ones rejected on both sides; the half-sent one only on the leader
    const counts = async (db: SqlDatabase) => new VerifiableStore(db).counts('task-1');
    expect(await counts(pair.leaderDb)).toEqual({ pending: 0, accepted: 0, rejected: 4, collected: 3 });
    expect(await counts(pair.helperDb)).toEqual({ pending: 0, accepted: 0, rejected: 3, collected: 3 });
    // a second collection has nothing new
    expect((await collect(pair)).status).toBe(409);
  }, 180_000);

  it('refuses a replay, a wrong size, a wrong content type, the peer routes without the token, and logs each', async () => {
    const pair = await startPair(url);
    const report = await buildReport(PARAMS, vector());
    await submit(pair, report);
    expect(await upload(pair.leader.url, report.leader)).toBe(409);
    expect(await upload(pair.helper.url, report.helper)).toBe(409);
    expect(await upload(pair.leader.url, report.helper)).toBe(400);
    expect(await upload(pair.helper.url, report.leader)).toBe(413);
    const wrongType = await fetch(`${pair.leader.url}/v1/verifiable/reports`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(wrongType.status).toBe(415);
    expect((await collect(pair, 'wrong-token-0123456789')).status).toBe(401);
    const prepare = await fetch(`${pair.helper.url}/v1/verifiable/prepare`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(prepare.status).toBe(401);
    const refusals = await pair.leaderDb.query<{ status: number }>('SELECT status FROM vdaf_refusals ORDER BY id');
    expect(refusals.map((r) => r.status)).toEqual([409, 400, 415, 401]);
    // the stored report is untouched by the refused replay and still collects
    const { body } = await collect(pair);
    expect(body.reports).toBe(1);
  }, 180_000);

  it('drops the helper share of a report the leader refused on its own (the leader tells it), and one whose leader upload never came once it is pending past the expiry', async () => {
    let clock = Date.parse('2026-12-07T10:00:00Z');
    const pair = await startPair(url, PARAMS, undefined, { now: () => new Date(clock), pendingExpirySeconds: 3600 });
    const helperRows = async () =>
      Object.fromEntries(
        (
          await pair.helperDb.query<{ nonce: Uint8Array; status: string; reason: string | null; upload: Uint8Array }>(
            'SELECT nonce, status, reason, upload FROM vdaf_reports',
          )
        ).map((r) => [Buffer.from(r.nonce).toString('hex'), { status: r.status, reason: r.reason, bytes: new Uint8Array(r.upload).length }]),
      );
    const hex = (report: Report) => Buffer.from(report.leader.subarray(0, 16)).toString('hex');
    const honest = await buildReport(PARAMS, vector());
    await submit(pair, honest);
    // the leader's share is not in the field (its first element all ones): the leader refuses it before asking the helper
    const malformed = await buildReport(PARAMS, vector());
    malformed.leader.fill(0xff, 48, 64);
    await submit(pair, malformed);
    // sent to the helper only
    const helperOnly = await buildReport(PARAMS, vector());
    expect(await upload(pair.helper.url, helperOnly.helper)).toBe(201);

    clock += 10 * 60_000;
    const first = await collect(pair);
    expect(first.body).toMatchObject({ reports: 1, rejected: 1 });
    let rows = await helperRows();
    expect(rows[hex(malformed)]).toEqual({
      status: 'rejected',
      reason: expect.stringMatching(/^the leader refused it: the leader's share is not in the field/),
      bytes: 0,
    });
    expect(rows[hex(helperOnly)]).toMatchObject({ status: 'pending' }); // 10 minutes old: its leader upload may still come
    expect(rows[hex(honest)]).toMatchObject({ status: 'collected', bytes: 0 });

    clock += 2 * 3600_000;
    await submit(pair, await buildReport(PARAMS, vector()));
    expect((await collect(pair)).body).toMatchObject({ reports: 1, rejected: 0 });
    rows = await helperRows();
    expect(rows[hex(helperOnly)]).toEqual({ status: 'rejected', reason: 'expired: the leader never prepared it', bytes: 0 });
    expect(await new VerifiableStore(pair.helperDb).counts('task-1')).toEqual({ pending: 0, accepted: 0, rejected: 2, collected: 2 });
    expect(pair.logs).toContain('dropped 1 share(s) pending over 3600 s (the leader never prepared them)');
    // the drop route is the leader's alone
    const drop = await fetch(`${pair.helper.url}/v1/verifiable/drop`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(drop.status).toBe(401);
  }, 180_000);

  it("asks the helper again when a prepare's connection fails: collected if the helper never saw it, dropped on both if its answer was lost", async () => {
    let fail: 'before' | 'after' | undefined;
    // The leader's connection to the helper fails once: before the request arrives, or after the helper answered.
    const flaky: typeof fetch = async (input, init) => {
      const mode = String(input).endsWith('/v1/verifiable/prepare') ? fail : undefined;
      fail = undefined;
      if (mode === 'before') throw new TypeError('fetch failed');
      const response = await fetch(input, init);
      if (mode === 'after') {
        await response.arrayBuffer();
        throw new TypeError('fetch failed');
      }
      return response;
    };
    const pair = await startPair(url, PARAMS, undefined, { fetch: flaky });
    const lost = await buildReport(PARAMS, vector());
    await submit(pair, lost);
    fail = 'after';
    expect((await collect(pair)).status).toBe(409); // nothing accepted: the lost one is dropped
    const x = vector();
    await submit(pair, await buildReport(PARAMS, x));
    fail = 'before';
    const { body } = await collect(pair);
    expect(body).toMatchObject({ reports: 1, rejected: 0, sum: x });
    for (const db of [pair.leaderDb, pair.helperDb])
      expect(await new VerifiableStore(db).counts('task-1')).toEqual({ pending: 0, accepted: 0, rejected: 1, collected: 1 });
    expect(pair.logs.filter((l) => l.includes('asking again'))).toHaveLength(2);
  }, 180_000);

  it("sums each aggregator's output shares as they are accepted, and reads the stored ones back after a restart: the sum is exact both ways", async () => {
    const pair = await startPair(url, PARAMS, undefined, { minBatch: 3 });
    const before = [vector(), vector()];
    for (const x of before) await submit(pair, await buildReport(PARAMS, x));
    expect((await collect(pair)).status).toBe(409); // verified and accepted, 2 of a minimum of 3: they wait
    // a restart: new services on the same databases (the sums in memory are gone; the accepted output shares are stored)
    await pair.leader.close();
    await pair.helper.close();
    const restarted = await listenPair(pair, pair.common, pair.logs);
    const after = vector();
    await submit(restarted, await buildReport(PARAMS, after));
    const first = await collect(restarted);
    expect(first.body).toMatchObject({ reports: 3, rejected: 0, sum: [...before, after].reduce((s, x) => s.map((v, j) => v + x[j]!)) });
    expect(restarted.logs.filter((l) => l === 'aggregate share over 3 reports: output shares read back from the database')).toHaveLength(2);

    const next = [vector(), vector(), vector()];
    for (const x of next) await submit(restarted, await buildReport(PARAMS, x));
    const second = await collect(restarted);
    expect(second.body).toMatchObject({ reports: 3, rejected: 0, sum: next.reduce((s, x) => s.map((v, j) => v + x[j]!)) });
    expect(restarted.logs.filter((l) => l === 'aggregate share over 3 reports: summed as they were accepted')).toHaveLength(2);
    for (const db of [pair.leaderDb, pair.helperDb]) {
      expect(await new VerifiableStore(db).counts('task-1')).toEqual({ pending: 0, accepted: 0, rejected: 0, collected: 6 });
      const stored = await db.query<{ n: number | string }>('SELECT count(*) AS n FROM vdaf_reports WHERE output_share IS NOT NULL');
      expect(Number(stored[0]!.n)).toBe(6); // every accepted share was stored, summed in memory or not
    }
  }, 180_000);

  it('verifies each report as it arrives (from memory): the collect verifies only what is left; a leader share that comes before its helper share waits for the collect', async () => {
    const pair = await startPair(url, PARAMS, undefined, { verifyOnArrival: true });
    const leaderStore = new VerifiableStore(pair.leaderDb);
    const helperStore = new VerifiableStore(pair.helperDb);
    // the device's order (contribute-verifiable.ts): the helper's share, then the leader's
    const deviceOrder = async (report: Report) => {
      expect(await upload(pair.helper.url, report.helper)).toBe(201);
      expect(await upload(pair.leader.url, report.leader)).toBe(201);
    };
    const decided = async (store: VerifiableStore, n: number) => {
      for (let waited = 0; waited < 60_000; waited += 20) {
        const c = await store.counts('task-1');
        if (c.accepted + c.rejected >= n) return c;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error('the reports were not verified on arrival');
    };
    const honest = [vector(), vector(), vector()];
    for (const x of honest) await deviceOrder(await buildReport(PARAMS, x));
    const tampered = await buildReport(PARAMS, vector());
    tampered.leader[48] = tampered.leader[48]! ^ 1;
    await deviceOrder(tampered);
    // decided on both sides before any collect, the uploads erased
    expect(await decided(leaderStore, 4)).toEqual({ pending: 0, accepted: 3, rejected: 1, collected: 0 });
    expect(await helperStore.counts('task-1')).toEqual({ pending: 0, accepted: 3, rejected: 1, collected: 0 });
    const kept = await pair.leaderDb.query<{ n: number | string }>('SELECT count(*) AS n FROM vdaf_reports WHERE length(upload) > 0');
    expect(Number(kept[0]!.n)).toBe(0);
    // the leader's share first: the helper has none yet, so it stays pending here (not rejected) and the collect verifies it
    const late = vector();
    const lateReport = await buildReport(PARAMS, late);
    expect(await upload(pair.leader.url, lateReport.leader)).toBe(201);
    const waiting = `report ${Buffer.from(lateReport.leader.subarray(0, 16)).toString('base64url')}: the helper has no share of it yet; the collect verifies it`;
    for (let waited = 0; !pair.logs.includes(waiting) && waited < 60_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await leaderStore.counts('task-1')).toEqual({ pending: 1, accepted: 3, rejected: 1, collected: 0 });
    expect(await upload(pair.helper.url, lateReport.helper)).toBe(201);
    // sent to the leader only: rejected at the collect, as without verification on arrival
    expect(await upload(pair.leader.url, (await buildReport(PARAMS, vector())).leader)).toBe(201);

    const { status, body } = await collect(pair);
    expect(status).toBe(200);
    expect(body).toMatchObject({ reports: 4, rejected: 2, sum: [...honest, late].reduce((s, x) => s.map((v, j) => v + x[j]!)) });
    const arrived = /^verified 4 reports on arrival since the last collection \(the last ones [\d.]+ s into the collect\): 3 accepted, 1 rejected$/;
    expect(pair.logs.filter((l) => arrived.test(l))).toHaveLength(1);
    expect(pair.logs.filter((l) => /^verified 2 reports with the helper in [\d.]+ s: 1 accepted, 1 rejected$/.test(l))).toHaveLength(1);
    expect(pair.logs.filter((l) => l === 'aggregate share over 4 reports: output shares read back from the database')).toHaveLength(0);
    for (const store of [leaderStore, helperStore]) expect(await store.counts('task-1')).toMatchObject({ pending: 0, accepted: 0, collected: 4 });
  }, 180_000);

  it('holds at most the bytes it may (arrivalBytes): an upload that finds them full waits for room and is verified on arrival', async () => {
    const probe = await buildReport(PARAMS, vector());
    const pair = await startPair(url, PARAMS, undefined, { verifyOnArrival: true, arrivalBytes: probe.leader.length });
    const xs = [vector(), vector(), vector(), vector()];
    const reports = await Promise.all(xs.map((x) => buildReport(PARAMS, x)));
    for (const r of reports) expect(await upload(pair.helper.url, r.helper)).toBe(201);
    // four at once: one held at a time, each upload answered once its report is queued
    expect(await Promise.all(reports.map((r) => upload(pair.leader.url, r.leader)))).toEqual([201, 201, 201, 201]);
    const { body } = await collect(pair);
    expect(body).toMatchObject({ reports: 4, rejected: 0, sum: xs.reduce((s, x) => s.map((v, j) => v + x[j]!)) });
    expect(pair.logs.filter((l) => /^verified 4 reports on arrival since the last collection/.test(l))).toHaveLength(1);
    expect(pair.logs.some((l) => /reports with the helper in/.test(l))).toBe(false);
  }, 180_000);

  it('verifies no report on arrival past the bytes it may hold: each waits in the database for the collect', async () => {
    const none = await startPair(url, PARAMS, undefined, { verifyOnArrival: true, arrivalBytes: 0 });
    const report = await buildReport(PARAMS, vector());
    expect(await upload(none.helper.url, report.helper)).toBe(201);
    expect(await upload(none.leader.url, report.leader)).toBe(201);
    expect(await new VerifiableStore(none.leaderDb).counts('task-1')).toMatchObject({ pending: 1 });
    expect((await collect(none)).body).toMatchObject({ reports: 1, rejected: 0 });
    expect(none.logs.some((l) => l.includes('reports on arrival since the last collection'))).toBe(false);
    expect(none.logs.filter((l) => /^verified 1 reports with the helper in/.test(l))).toHaveLength(1);
  }, 180_000);

  it('holds no device vector: each database has only its own share (the helper 96-byte seeds), never the sum of both', async () => {
    const pair = await startPair(url);
    const x = Array.from({ length: PARAMS.length }, (_, j) => (j % 2 ? B - 1 : -B));
    const report = await buildReport(PARAMS, x);
    await submit(pair, report);
    const [helperRow] = await pair.helperDb.query<{ upload: Uint8Array }>('SELECT upload FROM vdaf_reports');
    expect(helperRow!.upload.length).toBe(96);
    const columns = await pair.leaderDb.query<{ c: string }>(
      `SELECT table_name || '.' || column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND data_type = 'bytea' ORDER BY 1`,
    );
    // (vdaf_models.file: the published global models of the app's collections, models.ts)
    expect(columns.map((r) => r.c)).toEqual([
      'vdaf_collections.aggregate_share',
      'vdaf_models.file',
      'vdaf_reports.nonce',
      'vdaf_reports.output_share',
      'vdaf_reports.upload',
    ]);
  }, 180_000);

  it('with the norm check (PINE, ‖x‖² ≤ N): honest reports near N collect exactly; a norm past N, a lying norm claim and a wraparound are dropped by both, nothing of them kept', async () => {
    const params: VerifiableParams = { length: 32, bits: 6, normBound: 2_000 };
    const n = params.normBound!;
    const pair = await startPair(url, params);
    const atBound = Array<number>(params.length).fill(0);
    [31, -31, 8, -3, 2, -1].forEach((v, i) => (atBound[i] = v)); // 961 + 961 + 64 + 9 + 4 + 1 = 2,000 = N
    expect(atBound.reduce((a, v) => a + v * v, 0)).toBe(n);
    const honest = [atBound, atBound.map((v) => -v), Array.from({ length: params.length }, (_, j) => (j % 7) - 3)];
    for (const x of honest) await submit(pair, await buildReport(params, x));

    // a forger: its slack claim, and the wraparound checks' true results
    const claiming = (slack: bigint, prefix?: bigint[]) =>
      forgedPine(params, { ...(prefix ? { prefix } : {}), checks: (p, seed, c) => [...c.slackBits(slack), ...c.wraparoundEncoding(p, seed).encoding] });
    const extreme = Array.from({ length: params.length }, (_, j) => (j % 2 ? B - 1 : -B)); // every entry in range, ‖x‖² = 31,760
    await expect(buildReport(params, extreme)).rejects.toThrow(RangeError); // the honest client refuses it
    await submit(pair, await buildReport(params, extreme, claiming(0n))); // norm past N, claims slack 0
    const justOver = [...atBound];
    justOver[6] = 1; // ‖x‖² = N + 1
    await submit(pair, await buildReport(params, justOver, claiming(0n)));
    await submit(pair, await buildReport(params, honest[2]!, claiming(0n))); // an honest vector, its norm claim a lie
    // a wraparound: x = (ω, 1, 0, …) with ω² = −1 in the field, so ‖x‖² ≡ 0 mod q and the slack N is "right"
    const field = claiming(0n).circuit.field;
    const omega = field.exp(field.generator, field.genOrder / 4n);
    const wrapped = [omega + BigInt(B), 1n + BigInt(B), ...Array<bigint>(params.length - 2).fill(BigInt(B))];
    await submit(pair, await buildReport(params, Array<number>(params.length).fill(0), claiming(BigInt(n), wrapped)));

    const { status, body } = await collect(pair);
    expect(status).toBe(200);
    expect(body.reports).toBe(3);
    expect(body.rejected).toBe(4);
    expect(body.sum).toEqual(Array.from({ length: params.length }, (_, j) => honest.reduce((s, x) => s + x[j]!, 0)));
    for (const db of [pair.leaderDb, pair.helperDb]) {
      expect(await new VerifiableStore(db).counts('task-1')).toEqual({ pending: 0, accepted: 0, rejected: 4, collected: 3 });
      // of a rejected report only its nonce (replays stay refused), the decision and the reason remain
      const rows = await db.query<{ upload: Uint8Array; output_share: Uint8Array | null; reason: string }>(
        `SELECT upload, output_share, reason FROM vdaf_reports WHERE status = 'rejected'`,
      );
      expect(rows).toHaveLength(4);
      for (const r of rows) {
        expect(new Uint8Array(r.upload).length).toBe(0);
        expect(r.output_share).toBeNull();
        expect(r.reason).toMatch(/did not verify|rejected/);
      }
    }
    const task: unknown = await (await fetch(`${pair.leader.url}/v1/verifiable/task`)).json();
    expect(task).toMatchObject({ normBound: n, length: params.length, bits: params.bits });
  }, 180_000);

  it("the app's collections: a device reads the open collection, its report (the app's task, PINE) is collected and the mean published as the next base, not before --min-batch reports; a report for another collection is refused", async () => {
    const params: ParamSet = {
      w: { shape: [4, 8], values: Float32Array.from({ length: 32 }, (_, i) => i / 100) },
      b: { shape: [6], values: new Float32Array(6) },
    };
    const start = await parseGlobalModel(await encodeModelFile({ kind: 'global', modelId: 'test-model', catalogFingerprint: 'test-catalog' }, params), 'test');
    const noise = { clipNorm: 0.5, noiseMultiplier: 1 };
    const pair = await startPair(url, undefined, { base: start, noise }, { minBatch: 4 });
    const info = (await (await fetch(`${pair.leader.url}/v1/verifiable/collection`)).json()) as CollectionInfo;
    expect(info).toMatchObject({
      modelId: 'test-model',
      catalogFingerprint: 'test-catalog',
      baseModelSha256: start.header.payloadSha256,
      deltaLength: 38,
      ...noise,
      bits: 10,
    });
    expect(base64UrlDecode(info.rotationSeed)).toEqual(collectionRotationSeed(start.header.payloadSha256));
    // both aggregators describe the task the device derives
    const task = appVerifiableTask(38, noise);
    for (const service of [pair.leader, pair.helper])
      expect(await (await fetch(`${service.url}/v1/verifiable/task`)).json()).toMatchObject({ ...task.params, deltaLength: 38, ...noise });
    expect((await fetch(`${pair.leader.url}/v1/verifiable/models/latest.json`)).status).toBe(404);

    const deltas = [0.05, -0.03, 0.02, 0.01].map((a) => Float32Array.from({ length: 38 }, (_, i) => a * Math.sin(i + 1)));
    const sent: Int32Array[] = [];
    const send = async (delta: Float32Array) => {
      const { values } = encodeForVerifiable(delta, task.settings, base64UrlDecode(info.rotationSeed));
      sent.push(values);
      const report = await buildReport(task.params, values);
      expect(await upload(pair.helper.url, report.helper)).toBe(201);
      expect(await upload(pair.leader.url, report.leader, info.collectionId)).toBe(201);
    };
    for (const delta of deltas.slice(0, 3)) await send(delta);
    // three accepted reports, the minimum is 4: refused, logged, nothing collected or published
    const early = await collect(pair);
    expect(early.status).toBe(409);
    expect(early.body.error).toMatch(/only 3 accepted reports: a collection needs at least 4 \(--min-batch\); nothing was collected or published/);
    expect((await pair.leaderDb.query<{ message: string }>('SELECT message FROM vdaf_refusals')).map((r) => r.message)).toEqual([early.body.error]);
    expect((await fetch(`${pair.leader.url}/v1/verifiable/models/latest.json`)).status).toBe(404);
    expect(await new VerifiableStore(pair.leaderDb).counts('task-1')).toMatchObject({ accepted: 3, collected: 0 });
    // the helper checks the minimum too: no aggregate share over fewer reports, whoever asks
    const nonces = (await pair.helperDb.query<{ nonce: Uint8Array }>(`SELECT nonce FROM vdaf_reports WHERE status = 'accepted'`)).map((r) =>
      Buffer.from(r.nonce).toString('base64url'),
    );
    const helperShare = await fetch(`${pair.helper.url}/v1/verifiable/aggregate-share`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ nonces }),
    });
    expect(helperShare.status).toBe(409);
    expect(await new VerifiableStore(pair.helperDb).counts('task-1')).toMatchObject({ accepted: 3, collected: 0 });
    await send(deltas[3]!);
    const stale = await buildReport(task.params, sent[0]!);
    expect(await upload(pair.leader.url, stale.leader, 'ffffffffffffffff')).toBe(409);
    expect(await upload(pair.leader.url, stale.leader)).toBe(409);

    const r = await fetch(`${pair.leader.url}/v1/verifiable/collect`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    const body = (await r.json()) as { reports: number; sum: number[]; published: { collection: string; sha256: string } };
    expect(body.reports).toBe(4);
    expect(body.sum).toEqual(Array.from(body.sum, (_, j) => sent.reduce((s, x) => s + x[j]!, 0)));
    expect(body.published.collection).toBe(info.collectionId);
    // the published model: the base plus the decoded mean, the file devices import
    const latest = (await (await fetch(`${pair.leader.url}/v1/verifiable/models/latest.json`)).json()) as { round: string; sha256: string };
    expect(latest).toMatchObject({ round: info.collectionId, sha256: body.published.sha256 });
    const file = await decodeModelFile(new Uint8Array(await (await fetch(`${pair.leader.url}/v1/verifiable/models/latest`)).arrayBuffer()));
    expect(file.header).toMatchObject({ kind: 'global', modelId: 'test-model', contributors: 4 });
    const mean = decodeVerifiableSum(Float64Array.from(body.sum), task.settings, collectionRotationSeed(start.header.payloadSha256), 38);
    const expected = flatten(start.params).map((v, i) => v + mean[i]! / 4);
    const got = flatten(file.params);
    for (let i = 0; i < 38; i++) expect(got[i]).toBeCloseTo(expected[i]!, 5);
    // the decoded mean is the deltas' mean up to the rounding (no noise in this test; each delta within C, so unclipped)
    for (let i = 0; i < 38; i++) expect(mean[i]! / 4).toBeCloseTo(deltas.reduce((a, d) => a + d[i]!, 0) / 4, 2);
    // the next collection starts from the published model
    const next = (await (await fetch(`${pair.leader.url}/v1/verifiable/collection`)).json()) as CollectionInfo;
    expect(next.baseModelSha256).toBe(body.published.sha256);
    expect(next.collectionId).not.toBe(info.collectionId);
    expect(await upload(pair.leader.url, stale.leader, info.collectionId)).toBe(409);
  }, 180_000);
});
