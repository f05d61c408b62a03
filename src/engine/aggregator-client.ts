/**
 * The aggregator's HTTP API as a contributing device sees it (COMMON HTTP API, server/): the answers'
 * schemas, the requests (JSON or raw bytes, no credential but the round's token), and polling a round
 * until it reaches a phase. The device's state machine over it is contribute.ts.
 */
import { z } from '../core/schema';

/** The noise settings a round announces (helper B's DistributedNoiseSettings). */
export const roundNoiseSchema = z.object({
  clipNorm: z.number().check(z.positive()),
  noiseMultiplier: z.number().check(z.positive()),
  expectedCohort: z.int().check(z.gte(1)),
  dropoutTolerance: z.number().check(z.gte(0), z.lt(1)),
  bits: z.literal(32),
  scale: z.optional(z.number().check(z.positive())),
});
export type RoundNoise = z.infer<typeof roundNoiseSchema>;

const PHASES = ['keys', 'shares', 'masked', 'consistency', 'unmask', 'done', 'abandoned'] as const;
export type RoundPhase = (typeof PHASES)[number];

/** GET /v1/round and GET /v1/rounds/:id. */
export const roundSchema = z.object({
  roundId: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,100}$/)),
  phase: z.enum(PHASES),
  modelId: z.string(),
  catalogFingerprint: z.string(),
  baseModelSha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  vectorLength: z.int().check(z.gte(1)),
  noise: roundNoiseSchema,
  rotationSeed: z.string().check(z.regex(/^[A-Za-z0-9_-]*$/)),
  deadlines: z.optional(z.record(z.string(), z.string())),
  registered: z.optional(z.int().check(z.gte(0))),
});
export type RoundInfo = z.infer<typeof roundSchema>;

export const registeredSchema = z.object({ index: z.int().check(z.gte(0)), token: z.string().check(z.minLength(1), z.maxLength(1000)) });
/** GET /v1/models/latest.json: `round` is null for the starting model (published before any round). */
export const latestSchema = z.object({ round: z.nullable(z.string()), sha256: z.optional(z.string()), publishedAt: z.optional(z.string()) });

/**
 * One round's client: the protocol messages as JSON-ready bodies, from the server's JSON answers.
 * Implemented by engine/secagg-device.ts over helper A's SecAggClient.
 */
export interface RoundClient {
  /** Body of POST /keys (the round's fresh public keys). */
  keysBody(): unknown;
  /** The index the server gave this device. */
  setIndex(index: number): void;
  /** GET /keys answer → body of POST /shares. */
  sharesBody(keysAnswer: unknown): Promise<unknown>;
  /** The encoded vector and GET /shares answer → body of POST /masked: the masked vector, u32 little-endian. */
  maskedBody(input: Uint32Array, sharesAnswer: unknown): Promise<Uint8Array<ArrayBuffer>>;
  /** GET /survivors answer → body of POST /signature (this device's signature over those lists; once per round). */
  signatureBody(survivorsAnswer: unknown): unknown;
  /**
   * GET /signatures answer → body of POST /unmask, for the lists this device signed. Throws, revealing nothing,
   * unless at least the round's threshold of survivors signed exactly those lists.
   */
  unmaskBody(signaturesAnswer: unknown): unknown;
}

export class ContributionError extends Error {
  override name = 'ContributionError';
}

export class RoundAbandoned extends Error {
  constructor(roundId: string) {
    super(`Round ${roundId} was abandoned (too few devices stayed to the end); nothing from it was used.`);
  }
}

/** A request to the aggregator: JSON, or raw bytes (the masked vector). */
export interface RequestOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  token?: string;
}

/** Milliseconds between polls of a round's phase, unless the service says otherwise (AggregatorService.pollMs). */
export const DEFAULT_POLL_MS = 2000;

const phaseOrder = (phase: RoundPhase): number => PHASES.indexOf(phase);

/** Where the aggregator is and how to reach it (ContributorDeps gives these). */
export interface AggregatorService {
  origin: string;
  fetch: typeof fetch;
  /** Milliseconds between polls of a round's phase (short in tests). */
  pollMs?: number;
}

/** One device's requests to the aggregator. */
export class AggregatorClient {
  constructor(private readonly service: AggregatorService) {}

  async request(path: string, signal: AbortSignal, init: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    const raw = init.body instanceof Uint8Array;
    if (init.body !== undefined) headers['Content-Type'] = raw ? 'application/octet-stream' : 'application/json';
    if (init.token) headers.Authorization = `Bearer ${init.token}`;
    let response: Response;
    try {
      response = await this.service.fetch(`${this.service.origin}${path}`, {
        method: init.method ?? 'GET',
        headers,
        ...(init.body !== undefined ? { body: raw ? (init.body as Uint8Array<ArrayBuffer>) : JSON.stringify(init.body) } : {}),
        signal,
        // Nothing of this origin's (cookies, HTTP auth) goes to the aggregator; the token is the only credential.
        credentials: 'omit',
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
      });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new ContributionError(`the aggregator ${this.service.origin} could not be reached (${error instanceof Error ? error.message : String(error)})`);
    }
    return response;
  }

  async json<T>(path: string, schema: z.ZodMiniType<T>, signal: AbortSignal, init: RequestOptions = {}): Promise<T> {
    const response = await this.request(path, signal, init);
    const text = await response.text();
    if (!response.ok) {
      let reason = text.slice(0, 300);
      try {
        const error = (JSON.parse(text) as { error?: unknown }).error;
        if (typeof error === 'string') reason = error.slice(0, 300);
      } catch {
        // not JSON: the text itself
      }
      throw new ContributionError(`${init.method ?? 'GET'} ${path}: ${response.status} ${reason}`);
    }
    // 204 No Content (the POSTs' answer): nothing to parse.
    const parsed = schema.safeParse(text === '' ? undefined : JSON.parse(text));
    if (!parsed.success) throw new ContributionError(`${path}: the aggregator's answer is not what this app expects`);
    return parsed.data;
  }

  /** Whether the service answers GET /v1/rounds/:id (asked once; older services only have GET /v1/round). */
  private roundById = true;

  /**
   * A round's state. Without GET /v1/rounds/:id: GET /v1/round while it is still the current round; once
   * another round is current, it ended 'done' if its model was published, else 'abandoned'.
   */
  private async roundInfo(roundId: string, signal: AbortSignal): Promise<RoundInfo> {
    if (this.roundById) {
      const response = await this.request(`/v1/rounds/${encodeURIComponent(roundId)}`, signal);
      if (response.ok) {
        const parsed = roundSchema.safeParse(await response.json());
        if (parsed.success) return parsed.data;
      }
      await response.body?.cancel();
      this.roundById = false;
    }
    const current = await this.json('/v1/round', roundSchema, signal);
    if (current.roundId === roundId) return current;
    const latest = await this.request('/v1/models/latest.json', signal);
    const published = latest.ok ? latestSchema.safeParse(await latest.json()) : undefined;
    const done = published?.success === true && published.data.round === roundId;
    return { ...current, roundId, phase: done ? 'done' : 'abandoned' };
  }

  /** Polls until the round reaches `phase` or later; 'abandoned' ends the round. */
  async waitFor(roundId: string, phase: RoundPhase, signal: AbortSignal): Promise<RoundInfo> {
    for (;;) {
      const info = await this.roundInfo(roundId, signal);
      if (info.phase === 'abandoned') throw new RoundAbandoned(roundId);
      if (phaseOrder(info.phase) >= phaseOrder(phase)) return info;
      await sleep(this.service.pollMs ?? DEFAULT_POLL_MS, signal);
    }
  }
}

export function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function base64UrlEncode(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}
