/**
 * What the service takes from core/secagg (helper A's protocol and wire schemas, helper B's encoding),
 * and the request bodies' validation through those schemas: one import site, so the HTTP layer and
 * the rounds speak one vocabulary. A body that fails is a 400 Refusal carrying the schema's message.
 */
import { Refusal } from './errors';
import {
  decodeKeysRequest,
  decodeMaskedBinary,
  decodeMaskedRequest,
  decodeSharesRequest,
  decodeSignatureRequest,
  decodeUnmaskRequest,
  toBase64url,
  type RegisteredKeys,
} from '../src/core/secagg/messages';
import type { SurvivorSignature } from '../src/core/secagg/consistency';
import { SecAggError, type EncryptedShare, type RoundParams, type UnmaskShares } from '../src/core/secagg/protocol';

export {
  SecAggServer,
  SecAggError,
  defaultThreshold,
  neighbourGraph,
  roundParams,
  type AdvertisedKeys,
  type EncryptedShare,
  type RoundParams,
  type UnmaskShares,
} from '../src/core/secagg/protocol';
export { checkSum, decodeSum, encodedLength, minimumSurvivors, type DistributedNoiseSettings } from '../src/core/secagg/encode';

export const toBase64Url = toBase64url;

/** Runs a core/secagg decoder; its SecAggError (a malformed body) becomes a 400 naming the round and device. */
function refusing<T>(decode: () => T, roundId: string, device: number | null): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof SecAggError) throw new Refusal(400, error.message, roundId, device);
    throw error;
  }
}

export { verifySurvivorSignature, type SurvivorSignature } from '../src/core/secagg/consistency';

export function parseKeysBody(body: unknown, roundId: string): Omit<RegisteredKeys, 'index'> {
  const { index: _, ...keys } = refusing(() => decodeKeysRequest(body, 0), roundId, null);
  return keys;
}

export function parseSharesBody(body: unknown, from: number, params: RoundParams): EncryptedShare[] {
  return refusing(() => decodeSharesRequest(body, from, params), params.roundId, from);
}

/** JSON `{ masked }` (base64url) or the raw u32 little-endian bytes (application/octet-stream). */
export function parseMaskedBody(body: unknown, params: RoundParams, from: number): Uint32Array {
  return refusing(() => (body instanceof Uint8Array ? decodeMaskedBinary(body, params) : decodeMaskedRequest(body, params)), params.roundId, from);
}

export function parseUnmaskBody(body: unknown, from: number, params: RoundParams): UnmaskShares {
  return refusing(() => decodeUnmaskRequest(body, from, params), params.roundId, from);
}

export function parseSignatureBody(body: unknown, from: number, roundId: string): SurvivorSignature {
  return refusing(() => decodeSignatureRequest(body, from), roundId, from);
}
