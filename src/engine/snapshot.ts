/** The one place that writes the engine's snapshot (what the UI mirrors) and its warnings. */
import { DEFAULT_DIVERSITY, sameWarning, type EngineSnapshot, type EngineWarning } from './api';

export class SnapshotHub {
  private state: EngineSnapshot = { phase: 'loading', feed: [], warnings: [], historySize: 0, historyVersion: 0, diversity: DEFAULT_DIVERSITY };
  private listener: (snapshot: EngineSnapshot) => void = () => {};

  get current(): EngineSnapshot {
    return this.state;
  }

  listen(listener: (snapshot: EngineSnapshot) => void): void {
    this.listener = listener;
  }

  update(patch: Partial<EngineSnapshot>): void {
    this.state = { ...this.state, ...patch };
    this.listener(this.state);
  }

  /** Adds `warning` unless an equal one is shown already. */
  warnOnce(warning: EngineWarning): void {
    if (!this.state.warnings.some((known) => sameWarning(known, warning))) this.update({ warnings: [...this.state.warnings, warning] });
  }

  /** Adds `warning` even when an equal one is shown (each failure counts), in one update with `patch`. */
  warn(warning: EngineWarning, patch: Partial<EngineSnapshot> = {}): void {
    this.update({ ...patch, warnings: [...this.state.warnings, warning] });
  }

  /** A change of the history: its size, its version bumped (the History panel re-reads), and `patch`. */
  historyChanged(size: number, patch: Partial<EngineSnapshot> = {}): void {
    this.update({ historySize: size, historyVersion: this.state.historyVersion + 1, ...patch });
  }
}
