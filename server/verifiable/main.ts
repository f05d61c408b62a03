/**
 * `npm run aggregator -- --verifiable leader|helper [options]`: one aggregator of the verifiable mode (issue 20,
 * optional; see service.ts). Run two: a helper, then a leader that names it; each its own database.
 *
 *   --verifiable ROLE     leader or helper
 *   --verify-key HEX      16 bytes (32 hex digits), the same for both, secret from devices
 *   --peer-token T        the token the two present to each other (≥ 16 characters; the operator's for collect)
 *   --helper URL          the leader's: the helper's base URL
 *   --length L --bits B   the task: entries per report (the padded encoded length) and bits per entry (default 10)
 *   --norm-bound N        prove ‖x‖² ≤ N for each report instead of each entry's range (PINE, pine.ts; N = ⌊Δ₂²⌋
 *                         from verifiableParams with normCheck); without it only each entry's range is proved
 *   --task ID             the task's id (default "default")
 *   --noise-stddev S      σ each aggregator adds to its aggregate share, integer units (default 0)
 *   --min-batch N         fewer accepted reports than N: the collect is refused, nothing published (both roles;
 *                         default 10)
 *   --pending-expiry S    the helper's: a share still pending S seconds after it arrived (its leader upload never
 *                         came) is dropped at the next collection (default 3600)
 *   --verify-on-arrival   the leader's: verify each report with the helper as it arrives (from memory, up to 64 MiB of
 *                         uploads held; the rest at the collect) instead of all at the collect (service.ts)
 *   --port N --host H --app-origin ORIGIN --database URL --data DIR   as in the masked mode
 *
 * For the app (docs/aggregator.md "The verifiable pair for the app"), both aggregators instead take
 *   --app                 the app's task: the length, N and the noise derived from the base model's delta length and
 *                         the noise below (core/secagg/verifiable-app.ts), so device, leader and helper agree
 *   --base FILE           the global model to start from (as in the masked mode; default the shipped one); the leader
 *                         opens collections on it and publishes each collection's model (models.ts)
 *   --clip-norm C --noise-multiplier Z   the noise the deployment promises (defaults 1, 1: deployment.json's); each
 *                         aggregator adds σ = γ_v·z·C (integer units) to its aggregate share (--noise-stddev overrides
 *                         it, for tests only: the ε the app shows then does not hold)
 */
import { parseArgs } from 'node:util';
import { DEFAULT_BASE, loadBaseModel } from '../base-model';
import { listenVerifiable } from './http';
import { CollectionModels } from './models';
import { DEFAULT_MIN_BATCH, VerifiableAggregator, type VerifiableConfig } from './service';
import { openVerifiableDatabase, VerifiableStore } from './store';

export const VERIFIABLE_USAGE =
  'usage: npm run aggregator -- --verifiable leader|helper --verify-key HEX --peer-token T [--helper URL] (--length L [--bits B] [--norm-bound N] [--noise-stddev S] | --app [--base FILE] [--clip-norm C] [--noise-multiplier Z]) [--task ID] [--min-batch N] [--pending-expiry S] [--verify-on-arrival] [--port N] [--host H] [--app-origin ORIGIN ...] [--database URL | --data DIR]';

export async function mainVerifiable(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      verifiable: { type: 'string' },
      'verify-key': { type: 'string' },
      'peer-token': { type: 'string' },
      helper: { type: 'string' },
      length: { type: 'string' },
      bits: { type: 'string', default: '10' },
      'norm-bound': { type: 'string' },
      task: { type: 'string', default: 'default' },
      'min-batch': { type: 'string', default: String(DEFAULT_MIN_BATCH) },
      'pending-expiry': { type: 'string', default: '3600' },
      'verify-on-arrival': { type: 'boolean', default: false },
      'noise-stddev': { type: 'string' },
      port: { type: 'string', default: '8788' },
      host: { type: 'string', default: '127.0.0.1' },
      'app-origin': { type: 'string', multiple: true },
      database: { type: 'string' },
      data: { type: 'string' },
      app: { type: 'boolean', default: false },
      base: { type: 'string' },
      'clip-norm': { type: 'string', default: '1' },
      'noise-multiplier': { type: 'string', default: '1' },
    },
    strict: true,
  });
  const role = values.verifiable;
  if (role !== 'leader' && role !== 'helper') throw new Error('--verifiable takes leader or helper');
  if (!/^[0-9a-fA-F]{32}$/.test(values['verify-key'] ?? '')) throw new Error('--verify-key: 32 hex digits (16 bytes), the same for both aggregators');
  const peerToken = values['peer-token'] ?? '';
  if (values.app) {
    if (values.length !== undefined || values['norm-bound'] !== undefined)
      throw new Error('--app derives --length and --norm-bound from the base model and the noise: give neither');
    const noise = { clipNorm: Number(values['clip-norm']), noiseMultiplier: Number(values['noise-multiplier']) };
    if (!(noise.clipNorm > 0 && noise.noiseMultiplier >= 0.3))
      throw new Error('--clip-norm: positive; --noise-multiplier: at least 0.3 (deployment.json allows no less)');
    const base = await loadBaseModel(values.base ?? DEFAULT_BASE);
    const task = CollectionModels.taskFor(base, noise);
    // --noise-stddev overrides the noise the promise implies: for tests only (e2e: an exact sum); the ε the app shows then does not hold.
    const noiseStddev = values['noise-stddev'] === undefined ? task.noiseStddev : Number(values['noise-stddev']);
    if (!(noiseStddev >= 0)) throw new Error('--noise-stddev: a non-negative number');
    if (noiseStddev < task.noiseStddev)
      console.warn(
        `--noise-stddev ${noiseStddev}: less than the ${task.noiseStddev.toFixed(1)} the promised noise needs; the ε devices show does not hold (tests only)`,
      );
    return serve(values, role, peerToken, { params: task.params, noiseStddev, appTask: { deltaLength: task.deltaLength, ...noise } }, (store) =>
      role === 'leader' ? CollectionModels.open(store, values.task, base, noise) : Promise.resolve(undefined),
    );
  }
  const length = Number(values.length);
  const bits = Number(values.bits);
  const normBound = values['norm-bound'] === undefined ? undefined : Number(values['norm-bound']);
  if (normBound !== undefined && !(Number.isSafeInteger(normBound) && normBound >= 1))
    throw new Error('--norm-bound: an integer ≥ 1 (the largest accepted ‖x‖²)');
  const noiseStddev = Number(values['noise-stddev'] ?? '0');
  if (!(Number.isInteger(length) && length >= 1)) throw new Error('--length: the number of entries per report');
  if (!(noiseStddev >= 0)) throw new Error('--noise-stddev: a non-negative number');
  return serve(values, role, peerToken, { params: normBound === undefined ? { length, bits } : { length, bits, normBound }, noiseStddev }, () =>
    Promise.resolve(undefined),
  );
}

interface ServeOptions {
  task: string;
  'min-batch': string;
  'pending-expiry': string;
  'verify-on-arrival': boolean;
  helper?: string | undefined;
  port: string;
  host: string;
  'app-origin'?: string[] | undefined;
  database?: string | undefined;
  data?: string | undefined;
  'verify-key'?: string | undefined;
}

async function serve(
  values: ServeOptions,
  role: 'leader' | 'helper',
  peerToken: string,
  task: Pick<VerifiableConfig, 'params' | 'noiseStddev' | 'appTask'>,
  openCollections: (store: VerifiableStore) => Promise<CollectionModels | undefined>,
): Promise<void> {
  const port = Number(values.port);
  if (role === 'leader' && !values.helper) throw new Error('the leader needs --helper URL');
  if (values.database && values.data) throw new Error('give --database (PostgreSQL) or --data (PGlite directory), not both');
  const minBatch = Number(values['min-batch']);
  if (!(Number.isSafeInteger(minBatch) && minBatch >= 1)) throw new Error('--min-batch: an integer ≥ 1 (the fewest accepted reports a collection takes)');
  const pendingExpirySeconds = Number(values['pending-expiry']);
  if (!(pendingExpirySeconds > 0)) throw new Error('--pending-expiry: seconds, positive');
  const db = await openVerifiableDatabase({ url: values.database, dataDir: values.data });
  const store = new VerifiableStore(db);
  const collections = await openCollections(store);
  const aggregator = new VerifiableAggregator(store, {
    role,
    taskId: values.task,
    ...task,
    verifyKey: new Uint8Array(Buffer.from(values['verify-key']!, 'hex')),
    peerToken,
    minBatch,
    pendingExpirySeconds,
    verifyOnArrival: values['verify-on-arrival'],
    ...(values.helper ? { helperUrl: values.helper.replace(/\/$/, '') } : {}),
    ...(collections ? { collections } : {}),
  });
  const server = await listenVerifiable(aggregator, { host: values.host, port, appOrigins: values['app-origin'] ?? [] });
  const { length, bits, normBound } = task.params;
  console.log(
    `verifiable ${role} (task ${values.task}: ${length} entries × ${bits} bits${normBound === undefined ? '' : `, ‖x‖² ≤ ${normBound}`}${collections ? `, collection ${collections.current().collectionId}` : ''}, at least ${minBatch} reports a collection${role === 'leader' && values['verify-on-arrival'] ? ', verified on arrival' : ''}) on ${db.kind}, listening on ${server.url}`,
  );
  const stop = async () => {
    await server.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
