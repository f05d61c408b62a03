/**
 * A shipped global model for a catalog at scale (core/model/pool-model.ts): the file of
 * core/model/shipped-global.ts whose rows are listed by item id (the head), read whatever catalog it
 * was trained on, since its rows are matched to this catalog by id and not by order.
 */
import type { ParamSet } from '../federated/params';
import { headerMismatch, isLoaded, loadShipped, type ShippedGlobalExpectation } from './shipped-global';

export interface ShippedHead {
  params: ParamSet;
  itemIds: string[];
  description: string;
  source: string;
  /** Names these parameters (the payload's SHA-256): a user vector learned against them is kept under it. */
  id: string;
}

/**
 * Loads and checks the file: for this model id and sizes, listing its rows by id. As readShippedGlobal:
 * nothing when there is no file, the problem in words when it cannot be used; never throws.
 */
export async function readShippedHead(
  load: () => Promise<{ bytes: Uint8Array; source: string } | undefined>,
  expected: Pick<ShippedGlobalExpectation, 'modelId' | 'factors' | 'embeddingDim'>,
): Promise<ShippedHead | { problem: string } | Record<string, never>> {
  const loaded = await loadShipped(load);
  if (!isLoaded(loaded)) return loaded;
  const { header, params, itemIds, source } = loaded;
  const problem = headerMismatch(loaded, expected);
  if (problem) return { problem };
  if (!itemIds) return { problem: `${source} does not list its items by id: its rows cannot be matched to a catalog this large` };
  return { params, itemIds, description: header.description, source, id: header.payloadSha256 };
}
