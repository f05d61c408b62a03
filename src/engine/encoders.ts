/**
 * The text models: which are offered and which is active, one load per model, one encoder call at a
 * time, and the compute backend's failover (WebGPU → WebGL → WASM → CPU) under the bundled model.
 */
import type { SentenceEncoder } from '../core/encoder';
import type { TextRole } from '../core/encoder-registry';
import type { BackendName, BackendStatus, EncoderOption, EngineWarning } from './api';
import type { EngineState } from './state';
import { errorMessage } from './util';

type LoadProgress = (progress: { file: string; loaded: number; total: number }) => void;

export class EncoderRunner {
  /** The text models offered here, the bundled default first. */
  options: EncoderOption[] = [];
  /** The model whose vectors the catalog's vectors are (and the cache key they are stored under). */
  activeId = '';
  /** The active model once loaded. */
  current: SentenceEncoder | undefined;
  /** Loads by model id, kept after loading: switching back to a model needs no second load. */
  private readonly loads = new Map<string, Promise<SentenceEncoder>>();
  /** Who wants to hear a model's load progress now (the switch in progress). */
  private readonly loadProgress = new Map<string, LoadProgress>();
  /** The tail of the queue of encoder calls (see embedWith). */
  private turn: Promise<unknown> = Promise.resolve();
  /** The TF.js backend the default model was loaded on (see embedNow). */
  private encoderBackend: BackendName | undefined;
  /** A move to the next backend in progress (see switchBackend). */
  private backendSwitch: Promise<BackendStatus> | undefined;
  // Declared before the promise whose initializer assigns it (class fields initialise in order).
  private markBackendSettled!: (failure: Error | undefined) => void;
  /** Resolves once backend selection finished: with the error if none could start. */
  readonly backendSettled: Promise<Error | undefined> = new Promise((resolve) => (this.markBackendSettled = resolve));

  constructor(private readonly state: EngineState) {}

  /** Backend selection finished (`failure`: none could start). */
  backendReady(failure: Error | undefined): void {
    this.markBackendSettled(failure);
  }

  activeOption(): EncoderOption {
    return this.options.find((option) => option.id === this.activeId) ?? this.options[0]!;
  }

  /** The bundled model, offered first. */
  defaultOption(): EncoderOption {
    return this.options[0]!;
  }

  /** Tells the active model a person is waiting (it gives back a copy's share of the catalog). */
  userActive(): void {
    this.current?.userActive?.();
  }

  /**
   * One load per text model however many callers want it at once; kept afterwards, so switching back
   * to a model is instant. A failed load is forgotten (the next call tries again).
   */
  load(id: string, onProgress?: LoadProgress): Promise<SentenceEncoder> {
    // Registered first: a load may report progress as soon as it starts.
    if (onProgress) this.loadProgress.set(id, onProgress);
    let loading = this.loads.get(id);
    if (!loading) {
      const modelsUrl = this.state.config.modelsUrl;
      loading =
        id === this.options[0]?.id
          ? this.loadDefault()
          : modelsUrl === undefined
            ? Promise.reject(new Error(`${id} is not offered here`))
            : this.state.deps.loadEncoderById(id, modelsUrl, {
                onProgress: (progress) => this.loadProgress.get(id)?.(progress),
                onNotice: (message) => this.state.view.warnOnce({ code: 'encoderNotice', params: { message } }),
              });
      loading = loading.catch((error: unknown) => {
        this.loads.delete(id);
        throw error;
      });
      this.loads.set(id, loading);
    }
    return loading;
  }

  /** Nobody listens to `id`'s load progress any more. */
  stopListening(id: string): void {
    this.loadProgress.delete(id);
  }

  /** Makes `id` the active model; the one switched away from is kept for a quick switch back, on one copy (encoder-pool.ts). */
  activate(id: string, encoder: SentenceEncoder | undefined): void {
    this.activeId = id;
    if (this.current !== encoder) this.current?.standBy?.();
    encoder?.resume?.();
    this.current = encoder;
  }

  /**
   * Runs encoder calls one at a time: a TF.js graph model must not execute twice at once (a query
   * embedded while a catalog batch runs never returned in Chromium), and two models reading at once
   * would only halve each other's speed. A query waits at most one batch.
   */
  embedWith(encoderId: string, encoder: SentenceEncoder, texts: string[], role: TextRole = 'passage'): Promise<Float32Array[]> {
    const run = this.turn.then(() => this.embedNow(encoderId, encoder, texts, role));
    this.turn = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs one batch; if the TF.js backend fails under the default model (e.g. WebGPU device lost, or its
   * synchronous readback failing), moves to the next backend, reloads the model there (a graph model
   * whose execution failed half-way is left in an unusable state), and retries the same batch: no work
   * is lost. Transformers.js models fall back from WebGPU to WASM by themselves (DeviceFallbackEncoder).
   */
  private async embedNow(encoderId: string, encoder: SentenceEncoder, texts: string[], role: TextRole): Promise<Float32Array[]> {
    const isDefault = encoderId === this.options[0]?.id;
    for (;;) {
      const backend = this.state.view.current.backend?.name;
      // The backend changed under the default model (here, or when training fell back): reload it there.
      if (isDefault && this.encoderBackend !== undefined && this.encoderBackend !== backend) {
        const reloaded = await this.loadDefault();
        this.loads.set(encoderId, Promise.resolve(reloaded));
        if (this.activeId === encoderId) this.current = reloaded;
        encoder = reloaded;
      }
      try {
        return await encoder.embedBatch(texts, role);
      } catch (error) {
        if (!backend || !isDefault) throw error;
        await this.switchBackend(backend, error);
      }
    }
  }

  /** The bundled model, loaded on the engine's current backend (remembered for embedNow). */
  private async loadDefault(): Promise<SentenceEncoder> {
    const backend = this.state.view.current.backend?.name;
    const encoder = await this.state.deps.loadEncoder(this.state.config.encoderUrl);
    this.encoderBackend = backend;
    return encoder;
  }

  /**
   * After `failedOn` failed: moves to the next backend (once, however many callers notice the same
   * failure), says so in the warnings, and returns it. A caller whose backend was already replaced
   * gets the new one. Throws the error when there is nothing to fall back to.
   */
  switchBackend(failedOn: BackendName, error: unknown, training?: { completedEpochs: number }): Promise<BackendStatus> {
    if (this.backendSwitch) return this.backendSwitch;
    const view = this.state.view;
    const current = view.current.backend;
    if (current && current.name !== failedOn) return Promise.resolve(current);
    if (!current || current.name === 'cpu') return Promise.reject(error);
    this.backendSwitch = (async () => {
      try {
        const next = await this.state.deps.fallBackFrom(current.name, errorMessage(error));
        const params = { backend: current.label, message: errorMessage(error), next: next.label };
        const warning: EngineWarning = training
          ? { code: 'backendFailedWhileTraining', params: { ...params, count: training.completedEpochs } }
          : { code: 'backendFailed', params };
        view.warn(warning, { backend: next });
        return next;
      } finally {
        this.backendSwitch = undefined;
      }
    })();
    return this.backendSwitch;
  }
}
