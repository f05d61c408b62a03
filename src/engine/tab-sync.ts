/** Keeping tabs of the app in step (BroadcastChannel): messages carry no payload, only "look again". */

/**
 * 'model-changed': history was deleted or imported there, and the stored model re-fitted or replaced
 * with it: a tab holding the model in memory reopens it rather than later storing its stale copy over it.
 */
export type TabMessage = { type: 'history-changed' } | { type: 'model-changed' } | { type: 'erased' };

const TAB_MESSAGE_TYPES: ReadonlySet<unknown> = new Set(['history-changed', 'model-changed', 'erased']);

/** Any script of this origin can post on the tabs' channel: what is not one of these is ignored. */
export function isTabMessage(value: unknown): value is TabMessage {
  return typeof value === 'object' && value !== null && TAB_MESSAGE_TYPES.has((value as { type?: unknown }).type);
}

/** What the tab sync does to the engine. */
export interface TabSyncTarget {
  /** Erased here or elsewhere: nothing more to do. */
  readonly stopped: boolean;
  /** The feed is shown (before that, start() reads what is stored anyway). */
  readonly ready: boolean;
  /** Another tab erased everything: stop, and ask for a reload. */
  erasedElsewhere(): void;
  /** Re-read the history another tab changed. */
  rereadHistory(): Promise<void>;
  /** Reopen the model another tab re-fitted or replaced. */
  reopenModel(): Promise<void>;
}

export class TabSync {
  private refresh: Promise<void> | undefined;
  private refreshAgain = false;
  /** Another tab said the stored model changed and it is not re-read yet. */
  private modelChanged = false;

  constructor(private readonly target: TabSyncTarget) {}

  async onMessage(message: unknown): Promise<void> {
    const target = this.target;
    if (target.stopped || !isTabMessage(message)) return;
    if (message.type === 'erased') {
      target.erasedElsewhere();
    } else if (target.ready) {
      // Another tab may write hundreds of events a second: re-read at most one at a time, once more
      // after the current read if anything arrived meanwhile.
      if (message.type === 'model-changed') this.modelChanged = true;
      if (this.refresh) {
        this.refreshAgain = true;
        return;
      }
      do {
        this.refreshAgain = false;
        this.refresh = target.rereadHistory();
        await this.refresh;
        if (this.modelChanged) {
          this.modelChanged = false;
          await target.reopenModel();
        }
      } while (this.refreshAgain);
      this.refresh = undefined;
    }
  }
}
