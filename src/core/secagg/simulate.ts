/**
 * One secure-aggregation round, simulated in-process: every device runs every step of the real protocol (keys,
 * sealed shares, masks, unmask answers), every message goes through its wire encoding and the service-side decoder,
 * and the server decodes. For tests and for `npm run bench -- federated --secure-agg` (cost and exactness), not for
 * production. Devices run one after another so each one's compute time can be measured alone. The consistency round
 * (consistency.ts: survivors sign the lists, each counts t signatures and verifies a random sample of them before it
 * unmasks) runs with `consistency`; off by default: it changes nothing of the sum, and one thread playing every
 * device pays n × CONSISTENCY_SAMPLE verifications (the service and the app always run it).
 */
import { checkConsistency, SurvivorSigner, type SurvivorSignature } from './consistency';
import {
  decodeKeysRequest,
  decodeMaskedRequest,
  decodeSharesRequest,
  decodeSharesResponse,
  decodeUnmaskRequest,
  encodeKeysRequest,
  encodeMaskedRequest,
  encodeSharesRequest,
  encodeSharesResponse,
  encodeUnmaskRequest,
} from './messages';
import { type AdvertisedKeys, type EncryptedShare, SecAggClient, SecAggError, SecAggServer, type UnmaskShares } from './protocol';
import { type RoundParams, roundParams } from './params';

export interface SimulateOptions {
  roundId: string;
  threshold?: number;
  neighbours?: number;
  /** Devices that register keys but never upload shares. */
  dropBeforeShares?: ReadonlySet<number>;
  /** Devices that upload shares but not their masked vector (the server must rebuild their mask keys). */
  dropBeforeMasked?: ReadonlySet<number>;
  /** Devices that upload their masked vector but never answer the unmask step (their seeds come from neighbours). */
  dropAfterMasked?: ReadonlySet<number>;
  /** Run the consistency round between the masked upload and the unmasking (default false). */
  consistency?: boolean;
}

export interface SimulateResult {
  /** The decoded sum of the survivors' inputs, mod 2^32. */
  sum: Uint32Array;
  /** Devices whose masked vectors are in the sum. */
  survivors: number[];
  /** Mean bytes a device that took every step uploads (JSON bodies as in the HTTP API; masked as base64url JSON). */
  bytesUpPerDevice: number;
  /** Mean compute time of a device over its steps (key generation to unmask answer), in ms. */
  msPerDevice: number;
  /** The same upload, step by step (maskedBinary: the masked vector as a raw octet-stream body, 4L bytes). */
  bytesUp: { keys: number; shares: number; masked: number; maskedBinary: number; unmask: number };
  /** The server's time over the whole round (decoding every message, summing, unmasking), in ms. */
  serverMs: number;
  /** Of which the final step (rebuilding seeds and keys, removing the masks), in ms. */
  serverDecodeMs: number;
  params: RoundParams;
}

const now = () => globalThis.performance.now();
const jsonBytes = (body: unknown) => new TextEncoder().encode(JSON.stringify(body)).length;
/** The wire round trip: what the service parses is what the device serialized. */
const overWire = <T>(body: T): unknown => JSON.parse(JSON.stringify(body));

/** Runs a round over `inputs` (one u32 vector per device, all the same length). Throws SecAggError when it cannot decode. */
export async function simulateRound(inputs: readonly Uint32Array[], opts: SimulateOptions): Promise<SimulateResult> {
  const n = inputs.length;
  const L = inputs[0]?.length ?? 0;
  if (inputs.some((x) => x.length !== L)) throw new SecAggError('every input must have the same length');
  const params = roundParams({ roundId: opts.roundId, cohortSize: n, vectorLength: L, threshold: opts.threshold, neighbours: opts.neighbours });
  const none = new Set<number>();
  const dropBeforeShares = opts.dropBeforeShares ?? none;
  const dropBeforeMasked = opts.dropBeforeMasked ?? none;
  const dropAfterMasked = opts.dropAfterMasked ?? none;
  const ms = new Float64Array(n);
  const timed = async <T>(i: number, step: () => Promise<T> | T): Promise<T> => {
    const start = now();
    try {
      return await step();
    } finally {
      ms[i] = ms[i]! + now() - start;
    }
  };
  let serverMs = 0;
  const server = async <T>(step: () => Promise<T> | T): Promise<T> => {
    const start = now();
    try {
      return await step();
    } finally {
      serverMs += now() - start;
    }
  };
  const bytes = { keys: new Float64Array(n), shares: new Float64Array(n), masked: new Float64Array(n), unmask: new Float64Array(n) };

  // 1. keys
  const clients: SecAggClient[] = [];
  const signers: SurvivorSigner[] = [];
  const keys: AdvertisedKeys[] = [];
  const signingKeys = new Map<number, Uint8Array>();
  for (let i = 0; i < n; i++) {
    const body = await timed(i, async () => {
      const client = await SecAggClient.create(i);
      const signer = SurvivorSigner.create();
      clients.push(client);
      signers.push(signer);
      signingKeys.set(i, signer.publicKey);
      return encodeKeysRequest({ ...client.advertise(), signingPublicKey: signer.publicKey });
    });
    bytes.keys[i] = jsonBytes(body);
    keys.push(await server(() => decodeKeysRequest(overWire(body), i)));
  }

  // 2. shares
  const inbox: EncryptedShare[][] = Array.from({ length: n }, () => []);
  const shared = new Set<number>();
  for (let i = 0; i < n; i++) {
    if (dropBeforeShares.has(i)) continue;
    const body = await timed(i, async () => encodeSharesRequest(await clients[i]!.shareKeys(params, keys)));
    bytes.shares[i] = jsonBytes(body);
    for (const share of await server(() => decodeSharesRequest(overWire(body), i, params))) inbox[share.to]!.push(share);
    shared.add(i);
  }

  // 3. masked: the server keeps a running sum, as the service does
  const sum = new Uint32Array(L);
  const survivors: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!shared.has(i) || dropBeforeMasked.has(i)) continue;
    const delivered = overWire(encodeSharesResponse(inbox[i]!));
    let body;
    try {
      body = await timed(i, async () => encodeMaskedRequest(await clients[i]!.maskInput(inputs[i]!, decodeSharesResponse(delivered, i, params))));
    } catch (error) {
      if (error instanceof SecAggError) continue; // too few neighbours shared: the device stops, as a real one would
      throw error;
    }
    bytes.masked[i] = jsonBytes(body);
    const y = await server(() => decodeMaskedRequest(overWire(body), params));
    await server(() => {
      for (let e = 0; e < L; e++) sum[e] = (sum[e]! + y[e]!) >>> 0;
    });
    survivors.push(i);
  }

  // 4. unmask
  const survivorSet = new Set(survivors);
  const dropped = Array.from({ length: n }, (_, i) => i).filter((i) => !survivorSet.has(i));
  const signatures: SurvivorSignature[] = [];
  if (opts.consistency) {
    for (const i of survivors) {
      if (!dropAfterMasked.has(i)) signatures.push(await timed(i, () => signers[i]!.sign(i, params.roundId, survivors, dropped)));
    }
  }
  const answers: UnmaskShares[] = [];
  const complete: number[] = [];
  for (const i of survivors) {
    if (dropAfterMasked.has(i)) continue;
    const body = await timed(i, () => {
      if (opts.consistency)
        checkConsistency({ roundId: params.roundId, threshold: params.threshold, survivors, dropped, signingKeys, signatures, signer: signers[i]! });
      return encodeUnmaskRequest(clients[i]!.unmask(survivors, dropped));
    });
    bytes.unmask[i] = jsonBytes(body);
    answers.push(await server(() => decodeUnmaskRequest(overWire(body), i, params)));
    complete.push(i);
  }

  const decodeStart = now();
  const decoded = await server(() => new SecAggServer(params, keys).decode({ sum, survivors }, answers, shared));
  const serverDecodeMs = now() - decodeStart;
  const mean = (a: Float64Array) => (complete.length ? complete.reduce((s, i) => s + a[i]!, 0) / complete.length : 0);
  const bytesUp = {
    keys: mean(bytes.keys),
    shares: mean(bytes.shares),
    masked: mean(bytes.masked),
    maskedBinary: 4 * L,
    unmask: mean(bytes.unmask),
  };
  return {
    sum: decoded,
    survivors,
    bytesUpPerDevice: bytesUp.keys + bytesUp.shares + bytesUp.masked + bytesUp.unmask,
    msPerDevice: mean(ms),
    bytesUp,
    serverMs,
    serverDecodeMs,
    params,
  };
}
