/**
 * Simulated devices and a service on an ephemeral port, for the tests and the benchmark: each device
 * runs core/secagg's SecAggClient and talks to the service over real HTTP, as the app does.
 */
import { checkConsistency, SurvivorSigner } from '../src/core/secagg/consistency';
import {
  decodeKeysResponse,
  decodeSharesResponse,
  decodeSignaturesResponse,
  decodeSurvivorsResponse,
  encodeKeysRequest,
  encodeMaskedRequest,
  encodeSharesRequest,
  encodeSignatureRequest,
  encodeUnmaskRequest,
  u32ToBytes,
} from '../src/core/secagg/messages';
import { SecAggClient, type RoundParams } from '../src/core/secagg/protocol';
import { encodeModelFile } from '../src/core/federated/format';
import type { ParamSet } from '../src/core/federated/params';
import { Aggregator, type AggregatorConfig } from './aggregator';
import { parseGlobalModel, type GlobalModel } from './base-model';
import { listen } from './http';
import { migrate, MIGRATIONS } from './storage/migrations';
import { openPglite } from './storage/pglite';
import { openPostgres } from './storage/postgres';
import type { SqlDatabase } from './storage/sql';
import { Store } from './storage/store';

/** A small global model (W, q, b, ranker) with `values` numbers in all; deterministic values. */
export async function tinyBase(items = 5, factors = 2, dim = 4): Promise<GlobalModel> {
  const fill = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + k) * 0.1);
  const params: ParamSet = {
    W: { shape: [factors, dim], values: fill(factors * dim, 1) },
    q: { shape: [items, factors], values: fill(items * factors, 2) },
    b: { shape: [items], values: fill(items, 3) },
    'ranker/weights': { shape: [3], values: fill(3, 4) },
    'ranker/bias': { shape: [1], values: fill(1, 5) },
  };
  const file = await encodeModelFile({ kind: 'global', modelId: 'test-model@1', catalogFingerprint: 'test-catalog' }, params);
  return parseGlobalModel(file, 'tiny base');
}

let sharedPglite: Promise<SqlDatabase> | undefined;

/**
 * A migrated database in a fresh schema (dropped by `close`): of one in-memory PGlite shared by the
 * tests of a file (starting PGlite's WASM takes seconds; its one connection keeps the search_path
 * set here, and a file's tests run one after another), or of the PostgreSQL at `url`; `migrations`
 * (default all) the ones applied.
 */
export async function testDatabase(url?: string, migrations: Parameters<typeof migrate>[1] = MIGRATIONS): Promise<SqlDatabase> {
  const schema = `aggtest_${Date.now()}_${Math.floor(Math.random() * 1e9)}`;
  if (!url) {
    sharedPglite ??= openPglite();
    const db = await sharedPglite;
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`SET search_path TO ${schema}`);
    await migrate(db, migrations);
    return {
      ...db,
      close: async () => {
        await db.query(`DROP SCHEMA ${schema} CASCADE`);
      },
    };
  }
  const admin = await openPostgres(url);
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const sep = url.includes('?') ? '&' : '?';
  const db = await openPostgres(`${url}${sep}options=${encodeURIComponent(`-c search_path=${schema}`)}`);
  await migrate(db, migrations);
  return {
    ...db,
    async close() {
      await db.query(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
    },
  };
}

export interface TestService {
  url: string;
  aggregator: Aggregator;
  store: Store;
  sums: { roundId: string; sum: Uint32Array; survivors: readonly number[] }[];
  logs: string[];
  /** Moves the service's clock forward (deadlines pass without waiting for them; the next request notices). */
  advanceClock(seconds: number): void;
  close(): Promise<void>;
}

export async function startService(options: {
  db: SqlDatabase;
  base: GlobalModel;
  config?: Partial<AggregatorConfig>;
  appOrigins?: string[];
  quiet?: boolean;
}): Promise<TestService> {
  const sums: TestService['sums'] = [];
  const logs: string[] = [];
  const store = new Store(options.db);
  let offset = 0;
  const aggregator = await Aggregator.start(
    store,
    {
      cohort: 5,
      minCohort: 3,
      phaseSeconds: 30,
      noise: { clipNorm: 1, noiseMultiplier: 0, dropoutTolerance: 1 / 3 },
      log: (line) => {
        logs.push(line);
        if (!options.quiet && process.env.AGGREGATOR_TEST_LOG) console.log(line);
      },
      onSum: (roundId, sum, survivors) => sums.push({ roundId, sum, survivors }),
      now: () => new Date(Date.now() + offset),
      ...options.config,
    },
    options.base,
  );
  const server = await listen(aggregator, { host: '127.0.0.1', port: 0, appOrigins: options.appOrigins ?? [] });
  return {
    url: server.url,
    aggregator,
    store,
    sums,
    logs,
    advanceClock(seconds) {
      offset += seconds * 1000;
    },
    async close() {
      aggregator.close();
      await server.close();
      await aggregator.idle();
      await options.db.close();
    },
  };
}

export interface Reply {
  status: number;
  json: unknown;
}

export async function call(url: string, method: 'GET' | 'POST', path: string, options: { token?: string; json?: unknown; bytes?: Uint8Array; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array | undefined;
  if (options.json !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.bytes) {
    headers['Content-Type'] ??= 'application/octet-stream';
    body = options.bytes;
  }
  const response = await fetch(url + path, { method, headers, ...(body !== undefined ? { body: body as BodyInit } : {}) });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

function expectStatus(reply: Reply, status: number, what: string): void {
  if (reply.status !== status) throw new Error(`${what}: HTTP ${reply.status} ${JSON.stringify(reply.json)}`);
}

/** One simulated device over HTTP: the protocol (SecAggClient) and the consistency round (SurvivorSigner), as the app's device runs them. */
export class SimDevice {
  private params!: RoundParams;
  private signingKeys = new Map<number, Uint8Array>();
  /** The lists this device signed (and will unmask with). */
  private lists: { survivors: number[]; dropped: number[] } | undefined;

  private constructor(
    readonly url: string,
    readonly roundId: string,
    readonly index: number,
    readonly token: string,
    private readonly client: SecAggClient,
    readonly signer: SurvivorSigner,
  ) {}

  static async register(url: string, roundId: string): Promise<SimDevice> {
    const client = await SecAggClient.create(0);
    const signer = SurvivorSigner.create();
    const reply = await call(url, 'POST', `/v1/rounds/${roundId}/keys`, { json: encodeKeysRequest({ ...client.advertise(), signingPublicKey: signer.publicKey }) });
    expectStatus(reply, 201, 'register');
    const { index, token } = reply.json as { index: number; token: string };
    client.assignIndex(index);
    return new SimDevice(url, roundId, index, token, client, signer);
  }

  async sendShares(): Promise<void> {
    const reply = await call(this.url, 'GET', `/v1/rounds/${this.roundId}/keys`);
    expectStatus(reply, 200, 'keys');
    const { params, keys } = decodeKeysResponse(reply.json);
    this.params = params;
    this.signingKeys = new Map(keys.map((k) => [k.index, k.signingPublicKey]));
    const shares = await this.client.shareKeys(params, keys);
    expectStatus(await call(this.url, 'POST', `/v1/rounds/${this.roundId}/shares`, { token: this.token, json: encodeSharesRequest(shares) }), 204, 'shares');
  }

  async maskedFor(input: Uint32Array): Promise<Uint32Array> {
    const reply = await call(this.url, 'GET', `/v1/rounds/${this.roundId}/shares`, { token: this.token });
    expectStatus(reply, 200, 'get shares');
    return this.client.maskInput(input, decodeSharesResponse(reply.json, this.index, this.params));
  }

  async sendMasked(input: Uint32Array, binary = false): Promise<void> {
    const masked = await this.maskedFor(input);
    const reply = binary
      ? await call(this.url, 'POST', `/v1/rounds/${this.roundId}/masked`, { token: this.token, bytes: u32ToBytes(masked) })
      : await call(this.url, 'POST', `/v1/rounds/${this.roundId}/masked`, { token: this.token, json: encodeMaskedRequest(masked) });
    expectStatus(reply, 204, 'masked');
  }

  /** The consistency round's first half: GET survivors, sign them, POST the signature. */
  async sendSignature(): Promise<void> {
    const reply = await call(this.url, 'GET', `/v1/rounds/${this.roundId}/survivors`);
    expectStatus(reply, 200, 'survivors');
    const lists = decodeSurvivorsResponse(reply.json, this.params);
    const signature = this.signer.sign(this.index, this.roundId, lists.survivors, lists.dropped);
    this.lists = lists;
    expectStatus(await call(this.url, 'POST', `/v1/rounds/${this.roundId}/signature`, { token: this.token, json: encodeSignatureRequest(signature) }), 204, 'signature');
  }

  /** GET signatures, check at least t of them over the lists this device signed (SecAggError otherwise), then POST the unmask shares. */
  async sendUnmask(): Promise<void> {
    if (!this.lists) throw new Error(`device ${this.index} has not signed the survivor lists`);
    const reply = await call(this.url, 'GET', `/v1/rounds/${this.roundId}/signatures`);
    expectStatus(reply, 200, 'signatures');
    const { survivors, dropped } = this.lists;
    checkConsistency({ roundId: this.roundId, threshold: this.params.threshold, survivors, dropped, signingKeys: this.signingKeys, signatures: decodeSignaturesResponse(reply.json, this.params), signer: this.signer });
    const shares = this.client.unmask(survivors, dropped);
    expectStatus(await call(this.url, 'POST', `/v1/rounds/${this.roundId}/unmask`, { token: this.token, json: encodeUnmaskRequest(shares) }), 204, 'unmask');
  }
}

/** Polls GET /v1/round until `test` holds (phase changes at deadlines happen on a timer). */
export async function waitForRound(url: string, test: (round: { roundId: string; phase: string }) => boolean, timeoutMs = 20_000): Promise<{ roundId: string; phase: string } & Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const reply = await call(url, 'GET', '/v1/round');
    const round = reply.json as { roundId: string; phase: string } & Record<string, unknown>;
    if (test(round)) return round;
    if (Date.now() > until) throw new Error(`timed out waiting; the round is ${JSON.stringify(round)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Random u32 vectors (any value mod 2^32: the protocol sums them exactly). */
export function randomInputs(count: number, length: number): Uint32Array[] {
  return Array.from({ length: count }, () => {
    const x = new Uint32Array(length);
    // getRandomValues fills at most 64 KiB at a time.
    for (let start = 0; start < length; start += 16_384) crypto.getRandomValues(x.subarray(start, start + 16_384));
    return x;
  });
}

export function sumMod32(inputs: readonly Uint32Array[], length: number): Uint32Array {
  const sum = new Uint32Array(length);
  for (const x of inputs) for (let i = 0; i < length; i++) sum[i] = (sum[i]! + x[i]!) >>> 0;
  return sum;
}
