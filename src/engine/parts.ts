/**
 * The engine's modules as they see each other. Each is a class with one job (its public methods are
 * its interface); the Engine builds them and is the only thing the worker exposes. References between
 * modules are type-only: at run time only engine.ts imports them.
 */
import type { EmbeddingPass } from './embedding-pass';
import type { EncoderSwitch } from './encoder-switch';
import type { EncoderRunner } from './encoders';
import type { Feed } from './feed';
import type { UserHistory } from './history';
import type { ModelLifecycle } from './model-lifecycle';
import type { PrebuiltVectors } from './prebuilt';
import type { Search } from './search';
import type { EngineState } from './state';
import type { StoragePolicy } from './storage-policy';

export interface EngineParts {
  readonly state: EngineState;
  readonly store: StoragePolicy;
  readonly encoders: EncoderRunner;
  readonly prebuilt: PrebuiltVectors;
  readonly search: Search;
  readonly feed: Feed;
  readonly model: ModelLifecycle;
  readonly embedding: EmbeddingPass;
  readonly switcher: EncoderSwitch;
  readonly history: UserHistory;
}
