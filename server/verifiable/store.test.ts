/**
 * The verifiable store's upkeep on the embedded database (docs/secure-aggregation.md "Stop 40: the 1,000-device round
 * repeated (SVC)"): PGlite in memory keeps the reports' table unlogged, and the store vacuums it after enough uploads
 * were erased, so that the output shares written after reuse their space instead of growing the table. PostgreSQL (when
 * AGGREGATOR_TEST_DATABASE_URL is set) keeps the table logged and never vacuums from the service (its autovacuum does).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { SqlDatabase } from '../storage/sql';
import { testDatabase } from '../testing';
import { openVerifiableDatabase, VERIFIABLE_MIGRATIONS, VerifiableStore } from './store';

const PG_URL = process.env.AGGREGATOR_TEST_DATABASE_URL;
const UPLOAD = 64 * 1024;
const SHARE = 48 * 1024;
const REPORTS = 24;

const closing: SqlDatabase[] = [];
afterAll(async () => {
  for (const db of closing) await db.close();
});

/** Stores and decides REPORTS reports of random bytes (incompressible, as real shares are) in the leader's order. */
async function storeAndDecide(store: VerifiableStore): Promise<void> {
  for (let i = 0; i < REPORTS; i++) {
    const upload = new Uint8Array(randomBytes(UPLOAD));
    const nonce = upload.subarray(0, 16);
    expect(await store.insertReport('t', nonce, upload, new Date())).toBe(true);
    const outcome =
      i % 6 === 5 ? { accepted: false as const, reason: 'tampered' } : { accepted: true as const, outputShare: new Uint8Array(randomBytes(SHARE)) };
    expect(await store.decide('t', nonce, outcome, new Date())).toBe(true);
  }
}

const tableBytes = async (db: SqlDatabase) => Number((await db.query<{ n: string | number }>(`SELECT pg_total_relation_size('vdaf_reports') AS n`))[0]!.n);
const persistence = async (db: SqlDatabase) =>
  (await db.query<{ p: string }>(`SELECT relpersistence AS p FROM pg_class WHERE oid = 'vdaf_reports'::regclass`))[0]!.p;

describe('the verifiable store on PGlite in memory', () => {
  it('keeps the reports unlogged and vacuums after erasures: the erased uploads’ space is reused, every decision kept', async () => {
    const vacuumed = await openVerifiableDatabase({});
    const never = await openVerifiableDatabase({});
    closing.push(vacuumed, never);
    expect(await persistence(vacuumed)).toBe('u');
    // a VACUUM every 4 uploads erased, against the default threshold (64 MiB: none here, 1.5 MiB erased)
    const store = new VerifiableStore(vacuumed, 4 * UPLOAD);
    const unvacuumed = new VerifiableStore(never);
    await storeAndDecide(store);
    await storeAndDecide(unvacuumed);
    expect(store.vacuums).toBe(REPORTS / 4);
    expect(unvacuumed.vacuums).toBe(0);
    for (const s of [store, unvacuumed]) expect(await s.counts('t')).toEqual({ pending: 0, accepted: 20, rejected: 4, collected: 0 });
    // live: 20 output shares (960 KiB); without a VACUUM the 24 erased uploads (1.5 MiB) stay in the table besides them
    const [withVacuum, without] = [await tableBytes(vacuumed), await tableBytes(never)];
    expect(without).toBeGreaterThan(20 * SHARE + REPORTS * UPLOAD);
    expect(withVacuum).toBeLessThan(without - 16 * UPLOAD);
    // the shares read back intact after the VACUUMs (the collection's read-back path)
    const accepted = await store.acceptedNonces('t');
    let added = 0;
    await store.collect('t', accepted, { add: (share) => void (added += share.length), finish: () => new Uint8Array(8) }, new Date());
    expect(added).toBe(20 * SHARE);
  }, 60_000);
});

describe.skipIf(!PG_URL)('the verifiable store on PostgreSQL', () => {
  it('keeps the reports logged and leaves the vacuum to autovacuum', async () => {
    const db = await testDatabase(PG_URL, VERIFIABLE_MIGRATIONS);
    closing.push(db);
    expect(await persistence(db)).toBe('p');
    const store = new VerifiableStore(db);
    await storeAndDecide(store);
    expect(store.vacuums).toBe(0);
  }, 60_000);
});
