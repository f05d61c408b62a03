/**
 * `npm run aggregator -- [options]`: the optional aggregation service (issue 20). See docs/aggregator.md.
 *
 *   --port N              HTTP port (default 8787; 0 picks a free one)
 *   --host H              interface to listen on (default 127.0.0.1)
 *   --app-origin ORIGIN   an app deployment allowed to call it from a browser (repeatable; exact match)
 *   --base FILE           the global model to start from: a federated global file or a shipped .global file
 *                         (default: the shipped catalog's, public/catalog/goodbooks-10k.hybrid-use-lite-512-d32_1.global)
 *   --database URL        PostgreSQL connection string (postgres://…); default: embedded PGlite
 *   --data DIR            PGlite data directory (default: in memory, gone when the process ends)
 *   --cohort N            registrations that close the keys phase (default 100)
 *   --min-cohort N        fewer registered devices at the keys deadline abandon the round (default 3, the least allowed)
 *   --phase-seconds S     each phase's deadline (default 60; the keys phase counts from its first registration)
 *   --consistency-seconds S  the consistency phase's deadline (default: --phase-seconds); it waits for survivors that left after their masked upload
 *   --threshold-fraction F  survivors needed, as a fraction of the cohort (default 2/3; above 1/2)
 *   --neighbours K        SecAgg+ degree, each device's neighbours (default min(n − 1, 4⌈log₂ n⌉); 2 to 254, capped at n − 1)
 *   --clip-norm C --noise-multiplier Z --dropout-tolerance D   the distributed noise (defaults 1, 1, 1/3)
 *   --verifiable leader|helper …  instead: one aggregator of the verifiable mode (server/verifiable/main.ts)
 */
import { parseArgs } from 'node:util';
import { Aggregator } from './aggregator';
import { DEFAULT_BASE, loadBaseModel } from './base-model';
import { listen } from './http';
import { openDatabase } from './storage/open';
import { Store } from './storage/store';
import { mainVerifiable, VERIFIABLE_USAGE } from './verifiable/main';

const USAGE =
  'usage: npm run aggregator -- [--port N] [--host H] [--app-origin ORIGIN ...] [--base FILE] [--database URL | --data DIR] [--cohort N] [--min-cohort N] [--phase-seconds S] [--consistency-seconds S] [--threshold-fraction F] [--neighbours K] [--clip-norm C] [--noise-multiplier Z] [--dropout-tolerance D]';

function number(value: string | undefined, fallback: number, name: string, check: (x: number) => boolean, rule: string): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (!Number.isFinite(x) || !check(x)) throw new Error(`--${name} ${value}: ${rule}`);
  return x;
}

function appOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--app-origin ${value}: not a URL`);
  }
  if (url.origin !== value.replace(/\/$/, '')) throw new Error(`--app-origin ${value}: give the origin only (scheme://host[:port]), e.g. ${url.origin}`);
  return url.origin;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'app-origin': { type: 'string', multiple: true },
      base: { type: 'string' },
      database: { type: 'string' },
      data: { type: 'string' },
      cohort: { type: 'string' },
      'min-cohort': { type: 'string' },
      'phase-seconds': { type: 'string' },
      'consistency-seconds': { type: 'string' },
      'threshold-fraction': { type: 'string' },
      neighbours: { type: 'string' },
      'clip-norm': { type: 'string' },
      'noise-multiplier': { type: 'string' },
      'dropout-tolerance': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.database && values.data) throw new Error('give --database (PostgreSQL) or --data (PGlite directory), not both');
  const int = (x: number) => Number.isInteger(x);
  const port = number(values.port, 8787, 'port', (x) => int(x) && x >= 0 && x < 65536, 'a port number');
  const minCohort = number(values['min-cohort'], 3, 'min-cohort', (x) => int(x) && x >= 3, 'an integer of at least 3');
  const cohort = number(values.cohort, 100, 'cohort', (x) => int(x) && x >= minCohort && x <= 100_000, `an integer from --min-cohort (${minCohort}) to 100000`);
  const phaseSeconds = number(values['phase-seconds'], 60, 'phase-seconds', (x) => x > 0 && x <= 86_400, 'seconds, above 0 and at most a day');
  const consistencySeconds =
    values['consistency-seconds'] === undefined
      ? undefined
      : number(values['consistency-seconds'], 0, 'consistency-seconds', (x) => x > 0 && x <= 86_400, 'seconds, above 0 and at most a day');
  const fraction = number(values['threshold-fraction'], 2 / 3, 'threshold-fraction', (x) => x > 0.5 && x <= 1, 'above 0.5 and at most 1');
  const neighbours =
    values.neighbours === undefined ? undefined : number(values.neighbours, 0, 'neighbours', (x) => int(x) && x >= 2 && x <= 254, 'an integer from 2 to 254');
  const noise = {
    clipNorm: number(values['clip-norm'], 1, 'clip-norm', (x) => x > 0, 'a positive number'),
    noiseMultiplier: number(values['noise-multiplier'], 1, 'noise-multiplier', (x) => x >= 0, 'a non-negative number'),
    dropoutTolerance: number(values['dropout-tolerance'], 1 / 3, 'dropout-tolerance', (x) => x >= 0 && x < 1, 'in [0, 1)'),
  };
  const appOrigins = (values['app-origin'] ?? []).map(appOrigin);

  const base = await loadBaseModel(values.base ?? DEFAULT_BASE);
  const db = await openDatabase({ url: values.database, dataDir: values.data });
  const aggregator = await Aggregator.start(
    new Store(db),
    {
      cohort,
      minCohort,
      phaseSeconds,
      ...(consistencySeconds !== undefined ? { consistencySeconds } : {}),
      noise,
      threshold: (n) => Math.max(Math.floor(n / 2) + 1, Math.ceil(fraction * n)),
      ...(neighbours !== undefined ? { neighbours } : {}),
    },
    base,
  );
  const server = await listen(aggregator, { host: values.host ?? '127.0.0.1', port, appOrigins });
  console.log(
    `database: ${db.kind === 'postgres' ? 'PostgreSQL' : values.data ? `PGlite in ${values.data}` : 'PGlite in memory'}; app origins: ${appOrigins.join(', ') || 'none (browsers cannot call it)'}`,
  );
  console.log(`aggregator listening on ${server.url}`);
  const stop = async () => {
    aggregator.close();
    await server.close();
    await aggregator.idle();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

const verifiable = process.argv.slice(2).some((a) => a === '--verifiable' || a.startsWith('--verifiable='));
(verifiable ? mainVerifiable(process.argv.slice(2)) : main()).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  console.error(verifiable ? VERIFIABLE_USAGE : USAGE);
  process.exit(1);
});
