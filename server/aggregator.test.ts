/**
 * The aggregation service end to end: simulated devices (core/secagg's SecAggClient) over real HTTP
 * on an ephemeral port, against PGlite always and against PostgreSQL when AGGREGATOR_TEST_DATABASE_URL
 * is set (CI starts one: .ci/run).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeModelFile } from '../src/core/federated/format';
import { flatten } from '../src/core/federated/params';
import { encodeForSum, encodedLength } from '../src/core/secagg/encode';
import { encodeKeysRequest, encodeMaskedRequest, encodeSharesRequest, encodeSignatureRequest, encodeUnmaskRequest, toBase64url } from '../src/core/secagg/messages';
import { SurvivorSigner } from '../src/core/secagg/consistency';
import { SecAggClient } from '../src/core/secagg/protocol';
import { call, randomInputs, SimDevice, startService, sumMod32, testDatabase, tinyBase, waitForRound, type TestService } from './testing';

const PG_URL = process.env.AGGREGATOR_TEST_DATABASE_URL;
const databases: { name: string; url: string | undefined }[] = [{ name: 'PGlite', url: undefined }];
if (PG_URL) databases.push({ name: 'PostgreSQL', url: PG_URL });
else describe('PostgreSQL', () => it.skip('skipped: set AGGREGATOR_TEST_DATABASE_URL (postgres://…) to run the service tests against PostgreSQL', () => {}));

interface Round {
  roundId: string;
  phase: string;
  vectorLength: number;
  deltaLength: number;
  params: { threshold: number; cohortSize: number } | null;
  outcome: string | null;
  noise: Parameters<typeof encodeForSum>[1];
  rotationSeed: string;
  baseModelSha256: string;
}

/** Encoded deltas as devices send them: clipped, rotated, rounded, plus each one's noise share. */
function honestInputs(round: Round, count: number): Uint32Array[] {
  const seed = Buffer.from(round.rotationSeed, 'base64url');
  return Array.from({ length: count }, (_, k) => encodeForSum(Float32Array.from({ length: round.deltaLength }, (_, i) => Math.sin(i * (k + 1)) * 0.1), round.noise, seed));
}

/** Row counts of every table that holds protocol state, plus the rounds' phases: what a refusal must leave unchanged. */
async function snapshot(service: TestService): Promise<string> {
  const db = service.store.db;
  const counts: Record<string, number> = {};
  for (const table of ['rounds', 'devices', 'submissions', 'shares', 'masked_vectors', 'survivor_signatures', 'unmask_shares', 'models']) {
    const [row] = await db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM ${table}`);
    counts[table] = row!.n;
  }
  const rounds = await db.query<{ id: string; phase: string; deadline: Date | null }>('SELECT id, phase, deadline FROM rounds ORDER BY seq');
  return JSON.stringify({ counts, rounds });
}

async function refusalCount(service: TestService): Promise<number> {
  return (await service.store.refusals(service.store.db)).length;
}

describe.each(databases)('aggregation service on $name', ({ url }) => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  async function start(config: Parameters<typeof startService>[0]['config'] = {}, appOrigins: string[] = []) {
    service = await startService({ db: await testDatabase(url), base: await tinyBase(), config, appOrigins });
    const round = (await call(service.url, 'GET', '/v1/round')).json as Round;
    return { service, round };
  }

  it('runs a full round: every device masks, the service decodes the exact sum and publishes base + mean delta', async () => {
    const { service, round } = await start({ cohort: 6 });
    expect(round.phase).toBe('keys');
    expect(round.vectorLength).toBe(encodedLength(round.deltaLength));
    const devices = await Promise.all(Array.from({ length: 6 }, () => SimDevice.register(service.url, round.roundId)));
    expect(devices.map((d) => d.index).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(((await call(service.url, 'GET', '/v1/round')).json as Round).phase).toBe('shares');
    await Promise.all(devices.map((d) => d.sendShares()));
    // Real deltas, encoded as the app will: clipped, rotated, rounded (no noise in this test, so the mean is checkable).
    const deltas = devices.map((_, k) => Float32Array.from({ length: round.deltaLength }, (_, i) => Math.cos(i + k) * 0.05));
    const inputs = deltas.map((delta) => encodeForSum(delta, round.noise, Buffer.from(round.rotationSeed, 'base64url')));
    await Promise.all(devices.map((d, k) => d.sendMasked(inputs[k]!, k % 2 === 1)));
    expect(((await call(service.url, 'GET', '/v1/round')).json as Round).phase).toBe('consistency');
    await Promise.all(devices.map((d) => d.sendSignature()));
    expect(((await call(service.url, 'GET', '/v1/round')).json as Round).phase).toBe('unmask');
    await Promise.all(devices.map((d) => d.sendUnmask()));
    const next = await waitForRound(service.url, (r) => r.roundId !== round.roundId);
    expect(next.phase).toBe('keys');
    expect(service.sums).toHaveLength(1);
    expect(service.sums[0]!.sum).toEqual(sumMod32(inputs, round.vectorLength));

    const latest = await fetch(`${service.url}/v1/models/latest`);
    const published = await decodeModelFile(new Uint8Array(await latest.arrayBuffer()));
    expect(published.header.kind).toBe('global');
    expect(published.header).toMatchObject({ modelId: 'test-model@1', catalogFingerprint: 'test-catalog', contributors: 6 });
    const base = flatten((await tinyBase()).params);
    const got = flatten(published.params);
    for (let i = 0; i < base.length; i++) {
      const mean = deltas.reduce((s, d) => s + d[i]!, 0) / deltas.length;
      expect(got[i]! - base[i]!).toBeCloseTo(mean, 4);
    }
    const meta = (await call(service.url, 'GET', '/v1/models/latest.json')).json as { round: string; sha256: string };
    expect(meta).toMatchObject({ round: round.roundId, sha256: published.header.payloadSha256 });
    expect(next.baseModelSha256).toBe(published.header.payloadSha256);
    // Nothing of the finished round's messages is kept.
    const [left] = await service.store.db.query<{ n: number }>('SELECT (SELECT count(*) FROM masked_vectors) + (SELECT count(*) FROM shares) + (SELECT count(*) FROM unmask_shares) AS n');
    expect(Number(left!.n)).toBe(0);
  });

  it('gives each device the configured number of neighbours (--neighbours) and still decodes the exact sum', async () => {
    // 7 devices: the default degree is 6 (complete graph); 4 makes the SecAgg+ graph sparse.
    const { service, round } = await start({ cohort: 7, neighbours: 4 });
    const devices = await Promise.all(Array.from({ length: 7 }, () => SimDevice.register(service.url, round.roundId)));
    const keys = (await call(service.url, 'GET', `/v1/rounds/${round.roundId}/keys`)).json as { params: { neighbours: number } };
    expect(keys.params.neighbours).toBe(4);
    await Promise.all(devices.map((d) => d.sendShares()));
    const inputs = honestInputs(round, 7);
    await Promise.all(devices.map((d) => d.sendMasked(inputs[d.index]!)));
    await Promise.all(devices.map((d) => d.sendSignature()));
    await Promise.all(devices.map((d) => d.sendUnmask()));
    await waitForRound(service.url, (r) => r.roundId !== round.roundId);
    expect(service.sums[0]!.sum).toEqual(sumMod32(inputs, round.vectorLength));
  });

  it('decodes the same sum when 30% of the cohort drops after the masked upload, the consistency phase closing at its own deadline', async () => {
    // consistencySeconds: how long the service waits for the survivors' signatures, apart from the other phases' 30 s.
    const { service, round } = await start({ cohort: 10, consistencySeconds: 5 });
    const devices = await Promise.all(Array.from({ length: 10 }, () => SimDevice.register(service.url, round.roundId)));
    await Promise.all(devices.map((d) => d.sendShares()));
    const inputs = honestInputs(round, 10);
    await Promise.all(devices.map((d) => d.sendMasked(inputs[d.index]!)));
    const answering = devices.filter((d) => d.index >= 3); // devices 0, 1, 2 vanish after uploading
    await Promise.all(answering.map((d) => d.sendSignature()));
    expect(((await call(service.url, 'GET', '/v1/round')).json as Round).phase).toBe('consistency');
    service.advanceClock(4);
    expect(((await call(service.url, 'GET', '/v1/round')).json as Round).phase).toBe('consistency');
    service.advanceClock(2); // the consistency deadline (5 s) passes: 7 signatures, the threshold is 7
    const unmask = await waitForRound(service.url, (r) => r.phase === 'unmask');
    // The phase after it has the others' length again (30 s), counted from the consistency phase's close: 1 s after
    // its deadline on the test's clock, plus the real time the requests took.
    const deadlines = unmask.deadlines as Record<string, string>;
    expect((Date.parse(deadlines.unmask!) - Date.parse(deadlines.consistency!)) / 1000).toBeGreaterThanOrEqual(31);
    await Promise.all(answering.map((d) => d.sendUnmask()));
    await waitForRound(service.url, (r) => r.roundId !== round.roundId);
    expect(service.sums).toHaveLength(1);
    expect(service.sums[0]!.survivors).toHaveLength(10);
    expect(service.sums[0]!.sum).toEqual(sumMod32(inputs, round.vectorLength));
    expect((await call(service.url, 'GET', `/v1/rounds/${round.roundId}`)).json).toMatchObject({ phase: 'done' });
    expect((await call(service.url, 'GET', '/v1/models/latest.json')).json).toMatchObject({ round: round.roundId });
  });

  it('decodes the survivors\' sum when devices drop before the masked upload (their pairwise masks removed)', async () => {
    const { service, round } = await start({ cohort: 10 });
    const devices = await Promise.all(Array.from({ length: 10 }, () => SimDevice.register(service.url, round.roundId)));
    await Promise.all(devices.map((d) => d.sendShares()));
    const inputs = honestInputs(round, 10);
    const staying = devices.filter((d) => d.index % 4 !== 1); // 1, 5, 9 drop after sharing keys
    await Promise.all(staying.map((d) => d.sendMasked(inputs[d.index]!)));
    service.advanceClock(31);
    await waitForRound(service.url, (r) => r.phase === 'consistency');
    expect((await call(service.url, 'GET', `/v1/rounds/${round.roundId}/survivors`)).json).toEqual({ survivors: [0, 2, 3, 4, 6, 7, 8], dropped: [1, 5, 9] });
    await Promise.all(staying.map((d) => d.sendSignature()));
    await Promise.all(staying.map((d) => d.sendUnmask()));
    await waitForRound(service.url, (r) => r.roundId !== round.roundId);
    expect(service.sums[0]!.sum).toEqual(sumMod32(staying.map((d) => inputs[d.index]!), round.vectorLength));
    expect((await call(service.url, 'GET', `/v1/rounds/${round.roundId}`)).json).toMatchObject({ phase: 'done' });
  });

  it('relays the survivors\' signatures over the lists; a survivor that did not sign cannot unmask; the sum still decodes', async () => {
    const { service, round } = await start({ cohort: 6 });
    const devices = await Promise.all(Array.from({ length: 6 }, () => SimDevice.register(service.url, round.roundId)));
    await Promise.all(devices.map((d) => d.sendShares()));
    const inputs = honestInputs(round, 6);
    await Promise.all(devices.map((d) => d.sendMasked(inputs[d.index]!)));
    const [silent, ...signing] = [...devices].sort((x, y) => x.index - y.index) as [SimDevice, ...SimDevice[]];
    await Promise.all(signing.map((d) => d.sendSignature()));
    service.advanceClock(31);
    await waitForRound(service.url, (r) => r.phase === 'unmask');
    const relayed = (await call(service.url, 'GET', `/v1/rounds/${round.roundId}/signatures`)).json as { signatures: { from: number; signature: string }[] };
    expect(relayed.signatures.map((s) => s.from)).toEqual(signing.map((d) => d.index));
    const refused = await call(service.url, 'POST', `/v1/rounds/${round.roundId}/unmask`, { token: silent.token, json: { seedShares: [], keyShares: [] } });
    expect(refused.status).toBe(403);
    expect((refused.json as { error: string }).error).toMatch(/did not sign round .*'s survivor lists/);
    await Promise.all(signing.map((d) => d.sendUnmask()));
    await waitForRound(service.url, (r) => r.roundId !== round.roundId);
    expect(service.sums[0]!.sum).toEqual(sumMod32(inputs, round.vectorLength));
  });

  it('abandons a round in which fewer than t survivors sign the survivor lists, never decoding it', async () => {
    const { service, round } = await start({ cohort: 6 });
    const devices = await Promise.all(Array.from({ length: 6 }, () => SimDevice.register(service.url, round.roundId)));
    await Promise.all(devices.map((d) => d.sendShares()));
    const inputs = honestInputs(round, 6);
    await Promise.all(devices.map((d) => d.sendMasked(inputs[d.index]!)));
    await Promise.all(devices.slice(0, 3).map((d) => d.sendSignature()));
    service.advanceClock(31);
    await waitForRound(service.url, (r) => r.roundId !== round.roundId);
    const closed = await service.store.round(service.store.db, round.roundId);
    expect(closed).toMatchObject({ phase: 'abandoned' });
    expect(closed!.outcome).toMatch(/only 3 survivor\(s\) signed the survivor lists; the threshold is 4/);
    expect(service.sums).toHaveLength(0);
    const [left] = await service.store.db.query<{ n: number }>('SELECT count(*)::integer AS n FROM survivor_signatures');
    expect(left!.n).toBe(0);
  });

  it('abandons a round whose survivors fall below the threshold, never decoding it, and opens the next', async () => {
    const { service, round } = await start({ cohort: 6 });
    const devices = await Promise.all(Array.from({ length: 6 }, () => SimDevice.register(service.url, round.roundId)));
    await Promise.all(devices.map((d) => d.sendShares()));
    const info = (await call(service.url, 'GET', '/v1/round')).json as Round;
    expect(info.params!.threshold).toBe(4);
    const inputs = honestInputs(round, 6);
    await Promise.all(devices.slice(0, 3).map((d) => d.sendMasked(inputs[d.index]!)));
    service.advanceClock(31);
    const next = await waitForRound(service.url, (r) => r.roundId !== round.roundId);
    expect(next.phase).toBe('keys');
    const closed = await service.store.round(service.store.db, round.roundId);
    expect(closed).toMatchObject({ phase: 'abandoned' });
    expect(closed!.outcome).toMatch(/only 3 masked vector\(s\) arrived; the threshold is 4/);
    expect(service.sums).toHaveLength(0);
    expect((await call(service.url, 'GET', '/v1/models/latest.json')).status).toBe(404);
    expect((await call(service.url, 'GET', '/v1/models/latest')).json).toEqual({ error: 'no round has published a model yet' });
    expect((await call(service.url, 'GET', `/v1/rounds/${round.roundId}`)).json).toMatchObject({ roundId: round.roundId, phase: 'abandoned' });
    // The abandoned round refuses late messages as finished.
    const late = await call(service.url, 'POST', `/v1/rounds/${round.roundId}/masked`, { token: devices[4]!.token, json: encodeMaskedRequest(inputs[4]!) });
    expect(late.status).toBe(410);
    expect((late.json as { error: string }).error).toMatch(/finished \(abandoned\)/);
  });

  it('abandons, never publishes, a round whose sum a device pushed past its clipping bound', async () => {
    const { service, round } = await start({ cohort: 4, noise: { clipNorm: 1, noiseMultiplier: 1, dropoutTolerance: 1 / 3 } });
    const devices = await Promise.all(Array.from({ length: 4 }, () => SimDevice.register(service.url, round.roundId)));
    await Promise.all(devices.map((d) => d.sendShares()));
    const seed = Buffer.from(round.rotationSeed, 'base64url');
    const honest = (k: number) => encodeForSum(Float32Array.from({ length: round.deltaLength }, (_, i) => Math.sin(i * k)), round.noise, seed);
    // Device 0 sends uniformly random integers mod 2^32 instead of an encoded, clipped delta.
    const inputs = [randomInputs(1, round.vectorLength)[0]!, honest(1), honest(2), honest(3)];
    await Promise.all(devices.map((d) => d.sendMasked(inputs[d.index]!)));
    await Promise.all(devices.map((d) => d.sendSignature()));
    await Promise.all(devices.map((d) => d.sendUnmask()));
    await waitForRound(service.url, (r) => r.roundId !== round.roundId);
    expect(service.sums[0]!.sum).toEqual(sumMod32(inputs, round.vectorLength));
    const closed = (await call(service.url, 'GET', `/v1/rounds/${round.roundId}`)).json as Round;
    expect(closed.phase).toBe('abandoned');
    expect(closed.outcome).toMatch(/outside its clipping bound/);
    expect((await call(service.url, 'GET', '/v1/models/latest.json')).status).toBe(404);
  });

  it('abandons a round with fewer registrations than the minimum cohort at the keys deadline', async () => {
    const { service, round } = await start({ cohort: 5 });
    await SimDevice.register(service.url, round.roundId);
    await SimDevice.register(service.url, round.roundId);
    service.advanceClock(29);
    expect(((await call(service.url, 'GET', '/v1/round')).json as Round)).toMatchObject({ roundId: round.roundId, phase: 'keys' });
    service.advanceClock(2);
    await waitForRound(service.url, (r) => r.roundId !== round.roundId);
    expect((await service.store.round(service.store.db, round.roundId))!.outcome).toMatch(/only 2 device\(s\) registered/);
  });

  it('holds nothing but public keys, encrypted shares, masked vectors and unmask shares: no plaintext update', async () => {
    const { service, round } = await start({ cohort: 4 });
    const devices = await Promise.all(Array.from({ length: 4 }, () => SimDevice.register(service.url, round.roundId)));
    await Promise.all(devices.map((d) => d.sendShares()));
    const inputs = randomInputs(4, round.vectorLength);
    await Promise.all(devices.slice(0, 3).map((d) => d.sendMasked(inputs[d.index]!)));
    const db = service.store.db;
    // The live schema: every column that can hold bytes is one of these (a new one must be reviewed here).
    const columns = await db.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND data_type = 'bytea' ORDER BY table_name, column_name`,
    );
    expect(columns.map((c) => `${c.table_name}.${c.column_name}`)).toEqual([
      'devices.encryption_public_key', 'devices.mask_public_key', 'devices.seed_commitment', 'devices.signing_public_key', 'devices.token_sha256',
      'masked_vectors.vector', 'models.file', 'rounds.rotation_seed', 'shares.ciphertext', 'survivor_signatures.signature', 'unmask_shares.share',
    ]);
    // No stored byte string contains any 16-byte window of a device's input, and each masked vector differs from its input everywhere but by chance.
    const haystacks: Uint8Array[] = [];
    for (const { table_name, column_name } of columns) {
      for (const row of await db.query<{ v: Uint8Array }>(`SELECT ${column_name} AS v FROM ${table_name}`)) haystacks.push(new Uint8Array(row.v));
    }
    for (const input of inputs) {
      const bytes = new Uint8Array(input.buffer);
      for (let start = 0; start + 16 <= bytes.length; start += 16) {
        const needle = Buffer.from(bytes.subarray(start, start + 16));
        for (const hay of haystacks) expect(Buffer.from(hay).includes(needle)).toBe(false);
      }
    }
    const masked = await db.query<{ idx: number; vector: Uint8Array }>('SELECT idx, vector FROM masked_vectors ORDER BY idx');
    expect(masked).toHaveLength(3);
    for (const { idx, vector } of masked) {
      const y = new Uint32Array(new Uint8Array(vector).buffer);
      const equal = y.filter((v, i) => v === inputs[idx]![i]).length;
      expect(equal).toBeLessThanOrEqual(1);
    }
  });

  it('refuses every bad input with a clear error, logs it, and stores nothing', async () => {
    const { service, round } = await start({ cohort: 4, phaseSeconds: 30 }, ['https://app.example']);
    const id = round.roundId;
    const good = await SecAggClient.create(0);
    const goodSigner = SurvivorSigner.create();
    const goodKeys = encodeKeysRequest({ ...good.advertise(), signingPublicKey: goodSigner.publicKey });

    const refused = async (status: number, message: RegExp, send: () => Promise<{ status: number; json: unknown }>) => {
      const before = await snapshot(service);
      const logged = await refusalCount(service);
      const reply = await send();
      expect(reply.status, JSON.stringify(reply.json)).toBe(status);
      expect((reply.json as { error: string }).error).toMatch(message);
      expect(await snapshot(service)).toBe(before);
      const log = await service.store.refusals(service.store.db);
      expect(log).toHaveLength(logged + 1);
      expect(log.at(-1)).toMatchObject({ status });
    };
    const post = (path: string, json: unknown, token?: string) => () => call(service.url, 'POST', path, { json, ...(token ? { token } : {}) });

    // Keys phase.
    await refused(400, /encryptionPublicKey must be 32 bytes/, post(`/v1/rounds/${id}/keys`, { ...goodKeys, encryptionPublicKey: 'AAAA' }));
    await refused(400, /not a usable X25519 public key/, post(`/v1/rounds/${id}/keys`, { ...goodKeys, maskPublicKey: toBase64url(new Uint8Array(32)) }));
    await refused(400, /Unrecognized key/, post(`/v1/rounds/${id}/keys`, { ...goodKeys, delta: [1, 2, 3] }));
    await refused(400, /not base64url|must be base64url/, post(`/v1/rounds/${id}/keys`, { ...goodKeys, seedCommitment: '*'.repeat(43) }));
    await refused(404, /there is no round r999-000000000000/, post('/v1/rounds/r999-000000000000/keys', goodKeys));
    await refused(400, /a round id is 1 to 100 characters/, post('/v1/rounds/bad%20id/keys', goodKeys));
    await refused(415, /application\/json/, () => call(service.url, 'POST', `/v1/rounds/${id}/keys`, { bytes: new Uint8Array(10) }));
    await refused(400, /not valid UTF-8 JSON/, () => call(service.url, 'POST', `/v1/rounds/${id}/keys`, { bytes: new TextEncoder().encode('{"enc'), headers: { 'Content-Type': 'application/json' } }));
    await refused(413, /at most 262144/, () => call(service.url, 'POST', `/v1/rounds/${id}/keys`, { json: { pad: 'x'.repeat(300_000) } }));
    await refused(409, /accepted only in phase 'shares'/, post(`/v1/rounds/${id}/shares`, { shares: [] }, 'token'));
    await refused(403, /origin https:\/\/evil\.example is not one of this service's app origins/, () => call(service.url, 'GET', '/v1/round', { headers: { Origin: 'https://evil.example' } }));
    await refused(404, /no such route/, () => call(service.url, 'GET', '/v1/rounds'));
    await refused(405, /use POST/, () => call(service.url, 'GET', `/v1/rounds/${id}/masked`));
    await refused(409, /still collecting keys/, () => call(service.url, 'GET', `/v1/rounds/${id}/keys`));

    // CORS for the app's origin only, with a preflight.
    const preflight = await fetch(`${service.url}/v1/rounds/${id}/keys`, { method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,authorization' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const cross = await fetch(`${service.url}/v1/round`, { headers: { Origin: 'https://app.example' } });
    expect(cross.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect((await fetch(`${service.url}/v1/round`)).headers.get('access-control-allow-origin')).toBeNull();

    // A device registers; a replay of its keys is refused.
    const first = await call(service.url, 'POST', `/v1/rounds/${id}/keys`, { json: goodKeys });
    expect(first.status).toBe(201);
    await refused(409, /already registered in round/, post(`/v1/rounds/${id}/keys`, goodKeys));
    // The rest of the cohort (the replayed-keys device is not one of the simulated ones: its keys are registered by hand above).
    const devices = await Promise.all(Array.from({ length: 3 }, () => SimDevice.register(service.url, id)));
    expect(((await call(service.url, 'GET', '/v1/round')).json as Round).phase).toBe('shares');
    const [a, b, c] = devices as [SimDevice, SimDevice, SimDevice];
    await refused(401, /missing Authorization/, post(`/v1/rounds/${id}/shares`, { shares: [] }));
    await refused(401, /this token is not one of round/, post(`/v1/rounds/${id}/shares`, { shares: [] }, 'A'.repeat(43)));
    await refused(400, /expected one for each of the 3 neighbours, got 0/, post(`/v1/rounds/${id}/shares`, { shares: [] }, a.token));
    await refused(400, /ciphertext must be 94 bytes/, post(`/v1/rounds/${id}/shares`, { shares: [{ to: (a.index + 1) % 4, ciphertext: 'AAAA' }] }, a.token));
    await refused(400, /is not a neighbour|two shares/, post(`/v1/rounds/${id}/shares`, { shares: [0, 1, 2].map(() => ({ to: a.index, ciphertext: toBase64url(new Uint8Array(94)) })) }, a.token));
    await refused(409, /accepted only in phase 'masked'/, post(`/v1/rounds/${id}/masked`, encodeMaskedRequest(new Uint32Array(round.vectorLength)), a.token));
    // Shares from device 0 (the hand-registered one), then the simulated devices.
    const { params, keys } = (await import('../src/core/secagg/messages')).decodeKeysResponse((await call(service.url, 'GET', `/v1/rounds/${id}/keys`)).json);
    // The hand-registered client was made with index 0 before its index was known; it matches when it was given 0.
    expect((first.json as { index: number }).index).toBe(0);
    const handShares = await good.shareKeys(params, keys);
    const handToken = (first.json as { token: string }).token;
    expect((await call(service.url, 'POST', `/v1/rounds/${id}/shares`, { token: handToken, json: encodeSharesRequest(handShares) })).status).toBe(204);
    await refused(409, /already sent its shares message/, post(`/v1/rounds/${id}/shares`, encodeSharesRequest(handShares), handToken));
    await Promise.all(devices.map((d) => d.sendShares()));
    expect(((await call(service.url, 'GET', '/v1/round')).json as Round).phase).toBe('masked');

    // Masked phase.
    await refused(400, /masked: expected \d+ u32/, post(`/v1/rounds/${id}/masked`, encodeMaskedRequest(new Uint32Array(round.vectorLength + 1)), a.token));
    await refused(400, /masked: expected \d+ bytes/, () => call(service.url, 'POST', `/v1/rounds/${id}/masked`, { token: a.token, bytes: new Uint8Array(4 * round.vectorLength - 4) }));
    await refused(400, /Unrecognized key/, post(`/v1/rounds/${id}/masked`, { ...encodeMaskedRequest(new Uint32Array(round.vectorLength)), plaintext: 'x' }, a.token));
    // Honest encodings (random integers would fail the sum's norm check and abandon the round).
    const inputs = honestInputs(round, 4);
    const handMasked = await good.maskInput(inputs[0]!, (await import('../src/core/secagg/messages')).decodeSharesResponse((await call(service.url, 'GET', `/v1/rounds/${id}/shares`, { token: handToken })).json, 0, params));
    expect((await call(service.url, 'POST', `/v1/rounds/${id}/masked`, { token: handToken, json: encodeMaskedRequest(handMasked) })).status).toBe(204);
    await refused(409, /already sent its masked message/, post(`/v1/rounds/${id}/masked`, encodeMaskedRequest(handMasked), handToken));
    await Promise.all([a, b, c].map((d) => d.sendMasked(inputs[d.index]!)));
    expect(((await call(service.url, 'GET', '/v1/round')).json as Round).phase).toBe('consistency');

    // Consistency phase: signatures over other lists, malformed or repeated; the relayed signatures before they are complete.
    const lists = { survivors: [0, 1, 2, 3], dropped: [] as number[] };
    await refused(409, /accepted only in phase 'unmask'/, post(`/v1/rounds/${id}/unmask`, { seedShares: [], keyShares: [] }, handToken));
    await refused(409, /relayed from phase 'unmask' on/, () => call(service.url, 'GET', `/v1/rounds/${id}/signatures`));
    const liar = SurvivorSigner.create();
    await refused(400, /does not verify over round .*'s survivor lists/, post(`/v1/rounds/${id}/signature`, encodeSignatureRequest(liar.sign(0, id, [0, 1, 2], [3])), handToken));
    await refused(400, /does not verify/, post(`/v1/rounds/${id}/signature`, encodeSignatureRequest(SurvivorSigner.create().sign(0, id, lists.survivors, lists.dropped)), handToken));
    await refused(400, /signature must be 64 bytes/, post(`/v1/rounds/${id}/signature`, { signature: 'AAAA' }, handToken));
    await refused(401, /missing Authorization/, post(`/v1/rounds/${id}/signature`, encodeSignatureRequest(goodSigner.sign(0, id, lists.survivors, lists.dropped))));
    expect((await call(service.url, 'POST', `/v1/rounds/${id}/signature`, { token: handToken, json: encodeSignatureRequest(goodSigner.sign(0, id, lists.survivors, lists.dropped)) })).status).toBe(204);
    await refused(409, /already sent its signature message/, post(`/v1/rounds/${id}/signature`, encodeSignatureRequest(goodSigner.sign(0, id, lists.survivors, lists.dropped)), handToken));
    await Promise.all([a, b, c].map((d) => d.sendSignature()));
    expect(((await call(service.url, 'GET', '/v1/round')).json as Round).phase).toBe('unmask');
    await refused(409, /accepted only in phase 'consistency'/, post(`/v1/rounds/${id}/signature`, encodeSignatureRequest(goodSigner.sign(0, id, lists.survivors, lists.dropped)), handToken));

    // Unmask phase: shares that would reveal a single device's input, malformed shares, non-neighbours.
    const handUnmask = good.unmask([0, 1, 2, 3], []);
    const seedOf = handUnmask.seedShares[0]!;
    await refused(400, /a key share of device \d is not wanted/, post(`/v1/rounds/${id}/unmask`, { seedShares: [], keyShares: [{ of: seedOf.of, share: toBase64url(seedOf.share) }] }, handToken));
    await refused(400, /share must be 33 bytes/, post(`/v1/rounds/${id}/unmask`, { seedShares: [{ of: seedOf.of, share: 'AAAA' }], keyShares: [] }, handToken));
    await refused(400, /two shares of device/, post(`/v1/rounds/${id}/unmask`, { seedShares: [encodeUnmaskRequest(handUnmask).seedShares[0], encodeUnmaskRequest(handUnmask).seedShares[0]], keyShares: [] }, handToken));
    expect((await call(service.url, 'POST', `/v1/rounds/${id}/unmask`, { token: handToken, json: encodeUnmaskRequest(handUnmask) })).status).toBe(204);
    await refused(409, /already sent its unmask message/, post(`/v1/rounds/${id}/unmask`, encodeUnmaskRequest(handUnmask), handToken));
    await Promise.all([a, b, c].map((d) => d.sendUnmask()));
    const next = await waitForRound(service.url, (r) => r.roundId !== id);
    expect(service.sums[0]!.sum).toEqual(sumMod32(inputs, round.vectorLength));

    // After the round: masks for a finished round, a token of the old round used on the new one.
    await refused(410, /finished \(done\); masked vectors are no longer accepted/, post(`/v1/rounds/${id}/masked`, encodeMaskedRequest(handMasked), handToken));
    const fresh = await SecAggClient.create(0);
    const freshSigner = SurvivorSigner.create();
    expect((await call(service.url, 'POST', `/v1/rounds/${next.roundId}/keys`, { json: encodeKeysRequest({ ...fresh.advertise(), signingPublicKey: freshSigner.publicKey }) })).status).toBe(201);
    // A signing key another device of the round registered: refused (one signature would count for two devices).
    const other = await SecAggClient.create(0);
    await refused(409, /already registered/, post(`/v1/rounds/${next.roundId}/keys`, encodeKeysRequest({ ...other.advertise(), signingPublicKey: freshSigner.publicKey })));
    const reused = await SecAggClient.create(0);
    await refused(400, /small-order/, post(`/v1/rounds/${next.roundId}/keys`, encodeKeysRequest({ ...reused.advertise(), signingPublicKey: Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0)) })));
    await refused(409, /accepted only in phase 'shares'/, post(`/v1/rounds/${next.roundId}/shares`, { shares: [] }, handToken));
    expect((await service.store.refusals(service.store.db)).every((r) => r.message.length > 10)).toBe(true);
  });

  it('refuses a declared oversize masked upload before reading it', async () => {
    const { service, round } = await start({ cohort: 3 });
    const before = await snapshot(service);
    const res = await fetch(`${service.url}/v1/rounds/${round.roundId}/masked`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer x' },
      body: JSON.stringify({ masked: 'A'.repeat(200_000) }),
    });
    expect(res.status).toBe(413);
    expect(await snapshot(service)).toBe(before);
  });

  it('migration 2 abandons a round in flight from before the consistency round (its devices have no signing keys); the service opens the next', async () => {
    const { MIGRATIONS, migrate } = await import('./storage/migrations');
    const db = await testDatabase(url, MIGRATIONS.slice(0, 1));
    const base = await tinyBase();
    // A round of the old schema in its masked phase, with one device and its masked vector.
    await db.query(`INSERT INTO models (round_id, sha256, file, contributors, published_at) VALUES (NULL, 'x', $1, 0, now())`, [base.file]);
    await db.query(
      `INSERT INTO rounds (id, seq, phase, base_model_id, cohort_target, min_cohort, phase_seconds, noise, rotation_seed, delta_length, vector_length, deadlines, opened_at)
       VALUES ('r1-old', 1, 'masked', 1, 5, 3, 30, '{}', $1, 27, 32, '{}', now())`,
      [new Uint8Array(32)],
    );
    await db.query(`INSERT INTO devices (round_id, idx, token_sha256, encryption_public_key, mask_public_key, seed_commitment, registered_at) VALUES ('r1-old', 0, $1, $2, $3, $4, now())`, [
      new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), new Uint8Array(32).fill(3), new Uint8Array(32).fill(4),
    ]);
    await db.query(`INSERT INTO masked_vectors (round_id, idx, vector) VALUES ('r1-old', 0, $1)`, [new Uint8Array(128)]);
    expect(await migrate(db)).toEqual([2]);
    expect(await migrate(db)).toEqual([]);
    const [old] = await db.query<{ phase: string; outcome: string }>(`SELECT phase, outcome FROM rounds WHERE id = 'r1-old'`);
    expect(old).toMatchObject({ phase: 'abandoned' });
    expect(old!.outcome).toMatch(/upgraded to the consistency round/);
    const [left] = await db.query<{ n: number }>('SELECT count(*)::integer AS n FROM masked_vectors');
    expect(left!.n).toBe(0);
    service = await startService({ db, base });
    const next = (await call(service.url, 'GET', '/v1/round')).json as Round;
    expect(next).toMatchObject({ phase: 'keys' });
    expect(next.roundId).toMatch(/^r2-/);
    expect((await call(service.url, 'GET', '/v1/rounds/r1-old/keys')).status).toBe(410);
  });

  it('continues a stored round after a restart on the same database', async () => {
    const db = await testDatabase(url);
    const base = await tinyBase();
    const first = await startService({ db: { ...db, close: async () => undefined }, base, config: { cohort: 3 } });
    const round = (await call(first.url, 'GET', '/v1/round')).json as Round;
    const devices = await Promise.all(Array.from({ length: 3 }, () => SimDevice.register(first.url, round.roundId)));
    await first.close();
    service = await startService({ db, base, config: { cohort: 3 } });
    const again = (await call(service.url, 'GET', '/v1/round')).json as Round;
    expect(again).toMatchObject({ roundId: round.roundId, phase: 'shares' });
    // The devices carry on against the restarted service.
    const moved = devices.map((d) => Object.assign(Object.create(Object.getPrototypeOf(d) as object) as SimDevice, d, { url: service!.url }));
    await Promise.all(moved.map((d) => d.sendShares()));
    const inputs = honestInputs(round, 3);
    await Promise.all(moved.map((d) => d.sendMasked(inputs[d.index]!)));
    await Promise.all(moved.map((d) => d.sendSignature()));
    await Promise.all(moved.map((d) => d.sendUnmask()));
    await waitForRound(service.url, (r) => r.roundId !== round.roundId);
    expect(service.sums[0]!.sum).toEqual(sumMod32(inputs, round.vectorLength));
  });
});
