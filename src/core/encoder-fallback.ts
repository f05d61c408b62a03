/**
 * Device fallback for an encoder: if a batch fails on the primary device (WebGPU device lost,
 * a readback that fails in a worker), the same batch is retried on the fallback encoder (WASM),
 * which then serves every later batch. No batch is lost; the caller is told once, with the cause,
 * so the UI can say so.
 */
import type { SentenceEncoder } from './encoder';
import type { TextRole } from './encoder-registry';

export interface FallbackNotice {
  /** Why the primary device failed (its error message). */
  cause: string;
  /** The encoder now in use. */
  now: SentenceEncoder;
}

export class DeviceFallbackEncoder implements SentenceEncoder {
  readonly id: string;
  readonly dimension: number;
  private active: SentenceEncoder;
  private fellBack = false;

  constructor(
    /** The encoder on the preferred device (kept for tests that break its device on purpose). */
    readonly primary: SentenceEncoder,
    private readonly loadFallback: () => Promise<SentenceEncoder>,
    private readonly onFallback: (notice: FallbackNotice) => void,
  ) {
    this.id = primary.id;
    this.dimension = primary.dimension;
    this.active = primary;
  }

  standBy(): void {
    this.active.standBy?.();
  }

  resume(): void {
    this.active.resume?.();
  }

  userActive(): void {
    this.active.userActive?.();
  }

  /** True once the primary device failed and the fallback serves. */
  get usingFallback(): boolean {
    return this.fellBack;
  }

  async embedBatch(texts: readonly string[], role?: TextRole): Promise<Float32Array[]> {
    try {
      return await this.active.embedBatch(texts, role);
    } catch (error) {
      if (this.fellBack) throw error;
      const fallback = await this.loadFallback();
      if (fallback.id !== this.id || fallback.dimension !== this.dimension) {
        throw new Error(`fallback encoder ${fallback.id} (${fallback.dimension}-d) does not match ${this.id} (${this.dimension}-d)`);
      }
      this.active = fallback;
      this.fellBack = true;
      this.onFallback({ cause: error instanceof Error ? error.message : String(error), now: fallback });
      return fallback.embedBatch(texts, role);
    }
  }
}
