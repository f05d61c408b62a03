/**
 * The global model the first round starts from, as a federated-format file (kind 'global'): the
 * format "Import model update" reads, so what the service publishes after each round is the same
 * kind of file. By default it is the shipped catalog's global model (the compact file the app
 * itself starts from, converted losslessly: its float16/int8 values are exact in float32), so a
 * device's global model and the service's agree bit for bit and their SHA-256 matches.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeModelFile, encodeModelFile, MAGIC, type GlobalHeader } from '../src/core/federated/format';
import { add, layoutOf, scale, unflatten, type ParamSet } from '../src/core/federated/params';
import { decodeShippedGlobal, SHIPPED_GLOBAL_MAGIC } from '../src/core/model/shipped-global';

export const DEFAULT_BASE = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'catalog', 'goodbooks-10k.hybrid-use-lite-512-d32_1.global');

export interface GlobalModel {
  header: GlobalHeader;
  params: ParamSet;
  /** The federated file's bytes, as published. */
  file: Uint8Array;
}

const startsWith = (bytes: Uint8Array, magic: Uint8Array): boolean => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);

/** Reads a federated global model file, or converts a shipped `.global` file; throws with a message naming the file. */
export async function readBaseModel(bytes: Uint8Array, source: string): Promise<GlobalModel> {
  if (startsWith(bytes, SHIPPED_GLOBAL_MAGIC)) {
    const { header, params } = await decodeShippedGlobal(bytes, source);
    const file = await encodeModelFile({ kind: 'global', modelId: header.modelId, catalogFingerprint: header.catalogFingerprint }, params);
    return parseGlobalModel(file, source);
  }
  if (!startsWith(bytes, MAGIC)) throw new Error(`${source}: neither a federated global model file nor a shipped .global file (wrong magic bytes)`);
  return parseGlobalModel(bytes, source);
}

/** Decodes a federated file that must be a global model. */
export async function parseGlobalModel(file: Uint8Array, source: string): Promise<GlobalModel> {
  const { header, params } = await decodeModelFile(file, source);
  if (header.kind !== 'global') throw new Error(`${source}: this is one device's update (a delta), not a global model`);
  return { header, params, file };
}

export async function loadBaseModel(path = DEFAULT_BASE): Promise<GlobalModel> {
  return readBaseModel(new Uint8Array(await readFile(path)), path);
}

/**
 * FedAvg, as both services publish it (the masked round's server/aggregator.ts, the verifiable collection's
 * server/verifiable/models.ts): base + (the decoded sum of the devices' deltas) / contributors, as a global file.
 */
export async function averagedModel(base: GlobalModel, deltaSum: Float32Array, contributors: number, source: string): Promise<GlobalModel> {
  const next = add(base.params, scale(unflatten(layoutOf(base.params), deltaSum), 1 / contributors));
  const file = await encodeModelFile(
    { kind: 'global', modelId: base.header.modelId, catalogFingerprint: base.header.catalogFingerprint, contributors, aggregation: 'fedavg' },
    next,
  );
  return parseGlobalModel(file, source);
}
