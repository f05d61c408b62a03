/**
 * `tsx cli/aggregate.ts --in DIR --out FILE [--global FILE] [--robust trimmed-mean --trim 0.1] [--from-zero]`
 *
 * Reads every file in DIR (hidden files and sub-folders aside), checks each one fully (format,
 * checksum, NaN/Inf, model id, catalog fingerprint, dimensions), aggregates the deltas with FedAvg
 * or the coordinate-wise trimmed mean, and writes the new global model in the same file format.
 * The base model is --global, else the one global-model file in DIR; without either the command
 * refuses unless --from-zero says the deltas were taken against an all-zero model.
 * Any bad file stops the run (exit 1) rather than being skipped: a silently dropped file would
 * change the result without anyone noticing. Usage errors exit 2.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { aggregateModelFiles, type AggregationMethod, type NamedModelFile } from '../src/core/federated/aggregate';
import { MAX_FILE_BYTES, ModelFileError, decodeModelFile, encodeModelFile } from '../src/core/federated/format';

export interface AggregateCliOptions {
  inDir: string;
  out: string;
  global?: string;
  method?: AggregationMethod;
  trim?: number;
  fromZero?: boolean;
}

export interface AggregateSummary {
  out: string;
  base: string;
  deltas: string[];
  method: AggregationMethod;
  trimmed: number;
  totalWeight: number;
}

/** A problem with the command line rather than with a file. */
export class UsageError extends Error {
  override name = 'UsageError';
}

async function readModelFile(path: string, name: string): Promise<NamedModelFile> {
  const size = (await stat(path)).size;
  // Checked before reading, so an absurd file is refused without being loaded into memory.
  if (size > MAX_FILE_BYTES) throw new ModelFileError(`${name}: the file is ${Math.round(size / 2 ** 20)} MiB; the limit is ${MAX_FILE_BYTES / 2 ** 20} MiB`);
  return { name, file: await decodeModelFile(new Uint8Array(await readFile(path)), name) };
}

/** The command's work, without process.exit or printing, so tests can call it. */
export async function runAggregate(options: AggregateCliOptions): Promise<AggregateSummary> {
  const method = options.method ?? 'fedavg';
  const outPath = resolve(options.out);
  const entries = await readdir(options.inDir, { withFileTypes: true }).catch(() => {
    throw new UsageError(`cannot read the input folder ${options.inDir}`);
  });
  const files = entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && resolve(options.inDir, e.name) !== outPath)
    .map((e) => e.name)
    .sort();
  const decoded: NamedModelFile[] = [];
  for (const name of files) decoded.push(await readModelFile(join(options.inDir, name), name));
  const deltas = decoded.filter((f) => f.file.header.kind === 'delta');
  const globalsInDir = decoded.filter((f) => f.file.header.kind === 'global');
  if (deltas.length === 0) throw new ModelFileError(`no delta files in ${options.inDir}`);

  let global: NamedModelFile | null = null;
  if (options.global) {
    if (globalsInDir.length > 0) throw new UsageError(`${options.inDir} also holds a global model (${globalsInDir[0]!.name}); use --global or the folder, not both`);
    global = await readModelFile(options.global, options.global);
    if (global.file.header.kind !== 'global') throw new ModelFileError(`${options.global}: is a delta, not a global model`);
  } else if (globalsInDir.length === 1) {
    global = globalsInDir[0]!;
  } else if (globalsInDir.length > 1) {
    throw new UsageError(`${options.inDir} holds ${globalsInDir.length} global models (${globalsInDir.map((g) => g.name).join(', ')}); keep one or pass --global`);
  } else if (!options.fromZero) {
    throw new UsageError('no global model: pass --global FILE, put it in the input folder, or pass --from-zero');
  }

  const result = aggregateModelFiles(global, deltas, { method, trim: options.trim });
  await writeFile(outPath, await encodeModelFile(result.info, result.params));
  return {
    out: outPath,
    base: global?.name ?? '(zeros)',
    deltas: deltas.map((d) => d.name),
    method,
    trimmed: result.trimmed,
    totalWeight: result.totalWeight,
  };
}

const USAGE = 'usage: tsx cli/aggregate.ts --in DIR --out FILE [--global FILE] [--robust trimmed-mean [--trim 0.1]] [--from-zero]';

export function parseAggregateArgs(argv: string[]): AggregateCliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        in: { type: 'string' },
        out: { type: 'string' },
        global: { type: 'string' },
        robust: { type: 'string' },
        trim: { type: 'string' },
        'from-zero': { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!values.in || !values.out) throw new UsageError('--in and --out are required');
  if (values.robust !== undefined && values.robust !== 'trimmed-mean') throw new UsageError(`unknown --robust method '${values.robust}' (known: trimmed-mean)`);
  if (values.trim !== undefined && values.robust === undefined) throw new UsageError('--trim needs --robust trimmed-mean');
  const trim = values.trim === undefined ? undefined : Number(values.trim);
  if (trim !== undefined && !(trim >= 0 && trim < 0.5)) throw new UsageError(`--trim must be a number in [0, 0.5) (got '${values.trim}')`);
  return {
    inDir: values.in,
    out: values.out,
    global: values.global,
    method: values.robust === 'trimmed-mean' ? 'trimmed-mean' : 'fedavg',
    trim,
    fromZero: values['from-zero'] ?? false,
  };
}

async function main(): Promise<void> {
  try {
    const summary = await runAggregate(parseAggregateArgs(process.argv.slice(2)));
    const how = summary.method === 'fedavg' ? `FedAvg (total weight ${summary.totalWeight})` : `trimmed mean (${summary.trimmed} dropped at each end per coordinate)`;
    console.log(`aggregated ${summary.deltas.length} deltas onto ${summary.base} by ${how} → ${summary.out}`);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n${USAGE}`);
      process.exit(2);
    }
    if (error instanceof ModelFileError) {
      console.error(`error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
