/**
 * <private-recs>: the recommender as a custom element for any page.
 *
 *   <private-recs catalog="/my-catalog.json" max-items="6" layout="row|grid|list" theme="light|dark|auto"
 *                 context="item-id"></private-recs>
 *
 * Properties: `context` (reflects the attribute), `catalogData` (a catalog value instead of a URL).
 * Method: `viewed(itemId)` (the user opened that item on the host's site). Event: `recs-click`
 * ({ detail: { itemId } }, bubbles out of the shadow root). Nothing else about the user is exposed.
 *
 * This file must stay small: it holds no ML and no validation code; the engine's worker (which has
 * both) starts only when the element first comes near the viewport.
 */
import * as Comlink from 'comlink';
import type { EngineApi, EngineConfig, EngineSnapshot, FeedItem } from '../engine/api';
import { startEngineWorker, widgetAssetUrl } from './engine-worker';
import { widgetStyleSheet } from './styles';

export const ELEMENT_NAME = 'private-recs';
export const CLICK_EVENT = 'recs-click';
/** The accessible name of the Storage Access button: a contract for outside tests. */
export const REMEMBER_LABEL = 'Remember my picks on this site';
export const DEFAULT_MAX_ITEMS = 6;
const MAX_MAX_ITEMS = 50;

export interface RecsClickDetail {
  itemId: string;
}

/** `max-items` as an integer in [1, 50]; anything else means the default. */
export function parseMaxItems(value: string | null): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_MAX_ITEMS) : DEFAULT_MAX_ITEMS;
}

export class PrivateRecsElement extends HTMLElement {
  static readonly observedAttributes = ['catalog', 'max-items', 'context'];

  readonly #status: HTMLParagraphElement;
  readonly #list: HTMLOListElement;
  /** One small line while picks are kept for this visit only (the browser refuses or lost storage). */
  readonly #storageLine: HTMLParagraphElement;
  readonly #storageText: HTMLSpanElement;
  readonly #rememberButton: HTMLButtonElement;
  /** The storage state last shown: a snapshot repeats it on every change. */
  #storageKey = '';
  #worker: Worker | undefined;
  #engine: Comlink.Remote<EngineApi> | undefined;
  #catalogData: unknown = undefined;
  #visibility: IntersectionObserver | undefined;
  /** The feed last rendered, to skip re-rendering on progress-only snapshots. */
  #renderedKey = '';

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.adoptedStyleSheets = [widgetStyleSheet()];
    this.#status = document.createElement('p');
    this.#status.className = 'status';
    this.#status.setAttribute('role', 'status');
    this.#list = document.createElement('ol');
    this.#list.className = 'list';
    this.#list.setAttribute('aria-label', 'Recommendations');
    this.#list.addEventListener('click', (event) => this.#onListClick(event));
    this.#storageLine = document.createElement('p');
    this.#storageLine.className = 'storage';
    this.#storageLine.hidden = true;
    this.#storageText = document.createElement('span');
    this.#storageText.setAttribute('role', 'status');
    this.#rememberButton = document.createElement('button');
    this.#rememberButton.type = 'button';
    this.#rememberButton.className = 'remember';
    this.#rememberButton.textContent = REMEMBER_LABEL;
    this.#rememberButton.hidden = true;
    this.#rememberButton.addEventListener('click', () => void this.#askForStorage());
    this.#storageLine.append(this.#storageText, ' ', this.#rememberButton);
    root.append(this.#status, this.#list, this.#storageLine);
  }

  /** The id of the item on the host's screen; recommendations lean toward it. */
  get context(): string | null {
    return this.getAttribute('context');
  }
  set context(itemId: string | null) {
    if (itemId === null || itemId === '') this.removeAttribute('context');
    else this.setAttribute('context', itemId);
  }

  /** A catalog as a value (e.g. from postMessage), used instead of the `catalog` URL. */
  get catalogData(): unknown {
    return this.#catalogData;
  }
  set catalogData(catalog: unknown) {
    this.#catalogData = catalog;
    // Still waiting to be seen: the visibility observer starts it with this catalog.
    if (this.isConnected && !this.#visibility) this.#restart();
  }

  /** The user opened this item on the host's site: counted like a click on it. */
  async viewed(itemId: string): Promise<void> {
    await this.#engine?.record('click', itemId).catch(() => undefined); // ids outside the catalog mean nothing here
  }

  connectedCallback(): void {
    if (this.#engine || this.#visibility) return;
    if (this.#status.textContent === '') this.#showStatus('Loading recommendations…');
    // The worker (and 2 MB of ML runtime) is fetched only when the widget is about to be seen.
    this.#visibility = new IntersectionObserver(
      (entries) => {
        if (!entries.some((entry) => entry.isIntersecting)) return;
        this.#visibility?.disconnect();
        this.#visibility = undefined;
        this.#restart();
      },
      { rootMargin: '200px' },
    );
    this.#visibility.observe(this);
  }

  disconnectedCallback(): void {
    this.#visibility?.disconnect();
    this.#visibility = undefined;
    this.#stop();
  }

  attributeChangedCallback(name: string, previous: string | null, value: string | null): void {
    if (previous === value) return;
    if (name === 'context') void this.#engine?.setContext(value ?? undefined);
    else if (this.#engine) this.#restart(); // a new catalog or size: a fresh engine (layout and theme are pure CSS)
  }

  #config(): EngineConfig | undefined {
    const catalogAttribute = this.getAttribute('catalog');
    const waiting = this.hasAttribute('await-catalog') && this.#catalogData === undefined;
    if (waiting) return undefined;
    return {
      // The host's catalog path is the host's (its page's base URL); the default catalog is ours.
      catalogUrl: catalogAttribute ? new URL(catalogAttribute, document.baseURI).href : widgetAssetUrl('catalog/goodbooks-10k.json'),
      catalog: this.#catalogData,
      encoderUrl: widgetAssetUrl('models/use-lite/'),
      feedSize: parseMaxItems(this.getAttribute('max-items')),
      contextItemId: this.context ?? undefined,
    };
  }

  #restart(): void {
    this.#stop();
    const config = this.#config();
    if (!config) return;
    let worker: Worker;
    try {
      worker = startEngineWorker();
    } catch (error) {
      // E.g. a host CSP without `worker-src blob:`: say so in the widget, never throw into the host page.
      this.#showError(`the recommender could not start here (${error instanceof Error ? error.message : String(error)}).`);
      return;
    }
    worker.addEventListener('error', (event) => this.#showError(`the recommender stopped (${event.message || 'worker error'}).`));
    const engine = Comlink.wrap<EngineApi>(worker);
    this.#worker = worker;
    this.#engine = engine;
    engine.start(config, Comlink.proxy((snapshot: EngineSnapshot) => this.#render(snapshot))).catch((error: unknown) => {
      this.#showError(error instanceof Error ? error.message : String(error));
    });
  }

  #stop(): void {
    this.#engine?.[Comlink.releaseProxy]();
    this.#worker?.terminate();
    this.#engine = undefined;
    this.#worker = undefined;
  }

  #render(snapshot: EngineSnapshot): void {
    this.#showStorage(snapshot.storage);
    if (snapshot.phase === 'error') return this.#showError(snapshot.error ?? 'unknown error');
    if (snapshot.phase !== 'ready') return this.#showStatus(snapshot.phase === 'loading' ? 'Loading recommendations…' : '');
    this.#showStatus(snapshot.feed.length === 0 ? 'Nothing to recommend yet.' : '');
    const key = snapshot.feed.map((item) => `${item.id}\u0000${item.reason}`).join('\u0001');
    if (key === this.#renderedKey) return;
    this.#renderedKey = key;
    this.#list.replaceChildren(...snapshot.feed.map(renderItem));
  }

  /** Where the picks go: nothing shown while they are stored; one line (and maybe the button) while they are not. */
  #showStorage(storage: EngineSnapshot['storage']): void {
    const key = storage?.persisted === false ? `${storage.reason}\u0000${storage.notice}` : '';
    if (key === this.#storageKey) return;
    this.#storageKey = key;
    if (!storage || storage.persisted) {
      this.#storageLine.hidden = true;
      this.#storageText.textContent = '';
      this.#rememberButton.hidden = true;
      return;
    }
    this.#storageLine.hidden = false;
    this.#storageText.textContent = storage.notice;
    this.#rememberButton.hidden = !(storage.reason === 'unavailable' && canAskForStorageAccess());
  }

  /**
   * "Remember my picks on this site": asks the browser for storage access (on this click: it needs the
   * user's gesture), then has the engine open IndexedDB again and move this visit's picks into it.
   * Chromium takes `{ indexedDB: true }` and gives this page a handle whose IndexedDB is for the page
   * only: the engine runs in a worker, so the page opens the database through the handle and serves it
   * to the worker (storage/bridge.ts, loaded only here). Safari and Firefox take no argument; the
   * worker then opens the frame's own storage. Whatever still refuses, the line says so.
   */
  async #askForStorage(): Promise<void> {
    const button = this.#rememberButton;
    button.disabled = true;
    let handle: { indexedDB?: IDBFactory } | undefined;
    try {
      const request = document.requestStorageAccess as unknown as (types?: { indexedDB: boolean }) => Promise<unknown>;
      handle = (await (isChromium() ? request.call(document, { indexedDB: true }) : request.call(document))) as typeof handle;
    } catch {
      this.#storageText.textContent = 'The browser did not allow it: your picks are kept for this visit only.';
      button.disabled = false;
      return;
    }
    let persisted = (await this.#engine?.retryStorage().catch(() => false)) ?? false;
    if (!persisted && handle?.indexedDB) persisted = await this.#serveThroughHandle(handle.indexedDB);
    if (persisted) return; // the next snapshot hides the line
    button.hidden = true;
    this.#storageText.textContent = 'Access was granted, but this browser still does not let the recommender store your picks here: they are kept for this visit only.';
  }

  /** Opens the database through a Storage Access handle's IndexedDB and hands it to the engine; says whether that worked. */
  async #serveThroughHandle(factory: IDBFactory): Promise<boolean> {
    const engine = this.#engine;
    if (!engine) return false;
    try {
      const { serveStorage } = await import('../storage/bridge');
      const channel = new MessageChannel();
      await serveStorage(factory, channel.port1);
      return await engine.retryStorage(Comlink.transfer(channel.port2, [channel.port2]));
    } catch (error) {
      console.warn(`private-recs: the storage access handle's IndexedDB did not open: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  }

  #showStatus(text: string): void {
    this.#status.classList.remove('error');
    this.#status.setAttribute('role', 'status');
    this.#status.textContent = text;
  }

  #showError(message: string): void {
    this.#renderedKey = '';
    this.#list.replaceChildren();
    this.#status.classList.add('error');
    this.#status.setAttribute('role', 'alert');
    this.#status.textContent = `Recommendations are unavailable: ${message}`;
  }

  #onListClick(event: Event): void {
    const button = (event.target as Element | null)?.closest('button.title');
    const itemId = button?.closest('li')?.dataset.itemId;
    if (!itemId) return;
    void this.#engine?.record('click', itemId).catch(() => undefined);
    this.dispatchEvent(new CustomEvent<RecsClickDetail>(CLICK_EVENT, { detail: { itemId }, bubbles: true, composed: true }));
  }
}

/** In a frame of another page, with the Storage Access API: the only place where asking can help. */
function canAskForStorageAccess(): boolean {
  return window.parent !== window && typeof document.hasStorageAccess === 'function' && typeof document.requestStorageAccess === 'function';
}

function isChromium(): boolean {
  const brands = (navigator as Navigator & { userAgentData?: { brands?: { brand: string }[] } }).userAgentData?.brands ?? [];
  return brands.some((entry) => entry.brand === 'Chromium');
}

/** Item text goes in as text nodes only: a title like `<img onerror=…>` is shown, never parsed. */
function renderItem(item: FeedItem): HTMLLIElement {
  const li = document.createElement('li');
  li.className = 'item';
  li.dataset.itemId = item.id;
  const title = document.createElement('button');
  title.type = 'button';
  title.className = 'title';
  title.textContent = item.title;
  li.append(title);
  if (item.byline) li.append(textSpan('byline', item.byline));
  li.append(textSpan('reason', item.reason));
  return li;
}

function textSpan(className: string, text: string): HTMLSpanElement {
  const span = document.createElement('span');
  span.className = className;
  span.textContent = text;
  return span;
}

/** Registers the element once (a page may load the script twice). */
export function definePrivateRecs(): void {
  if (!customElements.get(ELEMENT_NAME)) customElements.define(ELEMENT_NAME, PrivateRecsElement);
}

declare global {
  interface HTMLElementTagNameMap {
    [ELEMENT_NAME]: PrivateRecsElement;
  }
  interface HTMLElementEventMap {
    [CLICK_EVENT]: CustomEvent<RecsClickDetail>;
  }
}
