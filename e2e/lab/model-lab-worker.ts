/**
 * Test harness for the on-device model's TF.js training in a real worker (e2e/lab/model.html, not part
 * of the app's UI): the project's own trainBpr / fineTuneUser on a small deterministic problem, on a
 * backend the test names, so e2e/model-backends.spec.ts can compare backends in real Chromium and lose
 * the WebGPU device mid-training on purpose.
 */
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { seededUniform } from '../../src/core/random';
import { HybridModel } from '../../src/core/model/hybrid';
import { rankFeed } from '../../src/core/model/ranking';
import { fineTuneUser, type HistoryEvent } from '../../src/core/model/fine-tune-user';
import { trainBpr, type BackendFailure, type TrainingData } from '../../src/core/model/train';
import type { BackendName } from '../../src/engine/api';
import { fallBackFrom, selectBackend } from '../../src/engine/backend';
import { hasWebGpuAdapter } from '../../src/engine/webgpu-adapter';

/** The problem: 240 items in 4 topics with 64-d text vectors; 24 users who each like one topic. */
const ITEMS = 240;
const DIM = 64;
const FACTORS = 16;
const USERS = 24;
const TOPICS = 4;

function problem() {
  const uniform = seededUniform(2024);
  const embeddings = new Float32Array(ITEMS * DIM);
  for (let i = 0; i < ITEMS; i++) {
    const row = Float32Array.from({ length: DIM }, () => (uniform() - 0.5) * 0.6);
    row[i % TOPICS]! += 1;
    const norm = Math.hypot(...row);
    embeddings.set(row.map((x) => x / norm), i * DIM);
  }
  const users: number[] = [];
  const items: number[] = [];
  const weights: number[] = [];
  for (let u = 0; u < USERS; u++) {
    for (let i = u % TOPICS; i < ITEMS - 40; i += TOPICS) {
      if (uniform() < 0.3) {
        users.push(u);
        items.push(i);
        weights.push(uniform() < 0.5 ? 1 : 0.5);
      }
    }
  }
  const data: TrainingData = { userCount: USERS, users: Int32Array.from(users), items: Int32Array.from(items), weights: Float32Array.from(weights) };
  const model = () => new HybridModel({ itemIds: Array.from({ length: ITEMS }, (_, i) => `i${i}`), embeddings, embeddingDim: DIM, factors: FACTORS });
  // One person's local history: likes and clicks in topic 1, dislikes in topic 2.
  const history: HistoryEvent[] = [1, 5, 9, 13, 17, 21].map((item, j) => ({ kind: j % 3 === 2 ? 'click' : 'like', item }));
  history.push({ kind: 'dislike', item: 2 }, { kind: 'dislike', item: 6 });
  return { data, model, history, skipped: [3, 7, 11] };
}

export interface LabRun {
  backend: string;
  /** trainBpr over all users: loss per epoch, then user vectors and the trained q, b. */
  global: { losses: number[]; users: number[]; q: number[]; b: number[] };
  /** fineTuneUser for one new person on the globally trained model. */
  fineTune: { losses: number[]; user: number[]; q: number[]; b: number[] };
  /** That person's scores for every item (HybridModel.scoreAll) and the feed's top 20 (rankFeed). */
  scores: number[];
  top: number[];
  /** The ranker's logits of `top`, in order. */
  topScores: number[];
  failures: { backend: string; epoch: number; completedEpochs: number; error: string }[];
  /** The backend active at the end. */
  finalBackend: string;
  ms: number;
}

let backendStatus: { name: BackendName; skipped: { name: BackendName; reason: string }[] } | undefined;

const lab = {
  hasWebGpuAdapter,

  /** Makes `order`'s first working backend active (the app's own selection and self-test). */
  async useBackend(order: BackendName[]): Promise<{ name: BackendName; skipped: { name: BackendName; reason: string }[] }> {
    const status = await selectBackend(order);
    backendStatus = { name: status.name, skipped: status.skipped };
    return backendStatus;
  },

  /**
   * Trains on the active backend: trainBpr (global, 8 epochs), then fineTuneUser (20 epochs) for a new
   * person, then scores and ranks. `loseDeviceAt`: destroys the WebGPU device once trainBpr's epoch
   * `global` or fineTuneUser's epoch `fineTune` has completed; the training code must then fall back
   * (the app's fallBackFrom: the next backend in webgpu → webgl → wasm → cpu) and finish.
   */
  async run(loseDeviceAt: { global?: number; fineTune?: number } = {}): Promise<LabRun> {
    const started = performance.now();
    const { data, model: makeModel, history, skipped } = problem();
    const failures: LabRun['failures'] = [];
    const onBackendFailure = async (failure: BackendFailure) => {
      failures.push({ backend: failure.backend, epoch: failure.epoch, completedEpochs: failure.completedEpochs, error: String(failure.error) });
      const next = await fallBackFrom(failure.backend as BackendName, String(failure.error));
      backendStatus = { name: next.name, skipped: next.skipped };
    };
    const loseDevice = () => {
      const backend = tf.backend() as Partial<WebGPUBackend>;
      if (!backend.device) throw new Error(`cannot lose a WebGPU device on ${tf.getBackend()}`);
      backend.device.destroy();
    };
    const model = makeModel();
    const global = await trainBpr(model, data, {
      epochs: 8,
      batchSize: 128,
      learningRate: 0.05,
      seed: 3,
      subspace: 16,
      onBackendFailure,
      onEpoch: ({ epoch }) => {
        if (epoch === loseDeviceAt.global) loseDevice();
      },
    });
    const globalState = { losses: global.losses, users: Array.from(global.userVectors), q: Array.from(model.q), b: Array.from(model.b) };
    const tuned = await fineTuneUser(model, new Float32Array(FACTORS), history, {
      epochs: 20,
      skipped,
      onBackendFailure,
      onEpoch: ({ epoch }) => {
        if (epoch === loseDeviceAt.fineTune) loseDevice();
      },
    });
    const scores = model.scoreAll(tuned.user);
    const popularity = Float32Array.from({ length: ITEMS }, (_, i) => (i % 7) / 7);
    const exclude = new Set(history.map((event) => event.item));
    const ranked = rankFeed({ model, user: tuned.user, k: 20, exclude, popularity, diversity: 0 });
    return {
      backend: tf.getBackend(),
      global: globalState,
      fineTune: { losses: tuned.losses, user: Array.from(tuned.user), q: Array.from(model.q), b: Array.from(model.b) },
      scores: Array.from(scores),
      top: ranked.map((item) => item.index),
      topScores: ranked.map((item) => item.score),
      failures,
      finalBackend: tf.getBackend(),
      ms: performance.now() - started,
    };
  },

  status: () => backendStatus,
};

export type ModelLab = typeof lab;
Comlink.expose(lab);
