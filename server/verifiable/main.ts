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
 *   --port N --host H --app-origin ORIGIN --database URL --data DIR   as in the masked mode
 */
import { parseArgs } from 'node:util';
import { listenVerifiable } from './http';
import { VerifiableAggregator } from './service';
import { openVerifiableDatabase, VerifiableStore } from './store';

export const VERIFIABLE_USAGE =
  'usage: npm run aggregator -- --verifiable leader|helper --verify-key HEX --peer-token T [--helper URL] --length L [--bits B] [--norm-bound N] [--task ID] [--noise-stddev S] [--port N] [--host H] [--app-origin ORIGIN ...] [--database URL | --data DIR]';

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
      'noise-stddev': { type: 'string', default: '0' },
      port: { type: 'string', default: '8788' },
      host: { type: 'string', default: '127.0.0.1' },
      'app-origin': { type: 'string', multiple: true },
      database: { type: 'string' },
      data: { type: 'string' },
    },
    strict: true,
  });
  const role = values.verifiable;
  if (role !== 'leader' && role !== 'helper') throw new Error('--verifiable takes leader or helper');
  if (!/^[0-9a-fA-F]{32}$/.test(values['verify-key'] ?? '')) throw new Error('--verify-key: 32 hex digits (16 bytes), the same for both aggregators');
  const peerToken = values['peer-token'] ?? '';
  const length = Number(values.length);
  const bits = Number(values.bits);
  const normBound = values['norm-bound'] === undefined ? undefined : Number(values['norm-bound']);
  if (normBound !== undefined && !(Number.isSafeInteger(normBound) && normBound >= 1))
    throw new Error('--norm-bound: an integer ≥ 1 (the largest accepted ‖x‖²)');
  const noiseStddev = Number(values['noise-stddev']);
  const port = Number(values.port);
  if (!(Number.isInteger(length) && length >= 1)) throw new Error('--length: the number of entries per report');
  if (!(noiseStddev >= 0)) throw new Error('--noise-stddev: a non-negative number');
  if (role === 'leader' && !values.helper) throw new Error('the leader needs --helper URL');
  if (values.database && values.data) throw new Error('give --database (PostgreSQL) or --data (PGlite directory), not both');
  const db = await openVerifiableDatabase({ url: values.database, dataDir: values.data });
  const aggregator = new VerifiableAggregator(new VerifiableStore(db), {
    role,
    taskId: values.task,
    params: normBound === undefined ? { length, bits } : { length, bits, normBound },
    verifyKey: new Uint8Array(Buffer.from(values['verify-key']!, 'hex')),
    peerToken,
    ...(values.helper ? { helperUrl: values.helper.replace(/\/$/, '') } : {}),
    noiseStddev,
  });
  const server = await listenVerifiable(aggregator, { host: values.host, port, appOrigins: values['app-origin'] ?? [] });
  console.log(
    `verifiable ${role} (task ${values.task}: ${length} entries × ${bits} bits${normBound === undefined ? '' : `, ‖x‖² ≤ ${normBound}`}) on ${db.kind}, listening on ${server.url}`,
  );
  const stop = async () => {
    await server.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
