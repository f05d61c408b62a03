/**
 * <private-recs>: the recommender as a custom element for any page.
 *
 *   <private-recs catalog="/my-catalog.json" max-items="6" layout="row|grid|list" theme="light|dark|auto"
 *                 context="item-id" lang="en|zh-CN"></private-recs>
 *
 * Language: the element's `lang` (or the nearest ancestor's, the page's `<html lang>` included), else the
 * browser's; English, or Simplified Chinese for any Chinese tag (strings.ts). Item text is shown as given.
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
import { fillTemplate, loadWidgetStrings, pickWidgetLanguage, WIDGET_STRINGS_EN, widgetReason, type WidgetLanguage, type WidgetStrings } from './strings';
import { widgetStyleSheet } from './styles';

export const ELEMENT_NAME = 'private-recs';
export const CLICK_EVENT = 'recs-click';
/** The accessible name of the Storage Access button in English: a contract for outside tests. */
export const REMEMBER_LABEL = WIDGET_STRINGS_EN.remember;
export const DEFAULT_MAX_ITEMS = 6;
const MAX_MAX_ITEMS = 50;
/** Clicks carried from one engine to the next while they live in memory only (a visit's worth). */
const MEMORY_EVENTS_KEPT = 500;

export interface RecsClickDetail {
  itemId: string;
}

/** `max-items` as an integer in [1, 50]; anything else means the default. */
export function parseMaxItems(value: string | null): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_MAX_ITEMS) : DEFAULT_MAX_ITEMS;
}

export class PrivateRecsElement extends HTMLElement {
  static readonly observedAttributes = ['catalog', 'max-items', 'context', 'lang'];

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
  /** The language the texts are in now, and its words (English until another language's have loaded). */
  #shownLanguage: WidgetLanguage = 'en';
  #strings: WidgetStrings = WIDGET_STRINGS_EN;
  /** The language asked for last (see #language): its words may still be loading. */
  #wantedLanguage: WidgetLanguage | undefined;
  /** What the status line says, in words of any language: re-said when the language changes. */
  #statusText: ((strings: WidgetStrings) => (string | Node)[]) | undefined;
  /** The Storage Access outcome shown in place of the storage notice, if any. */
  #storageOutcome: 'notAllowed' | 'grantedButRefused' | undefined;
  #lastSnapshot: EngineSnapshot | undefined;
  /**
   * The items this visit opened while the engine kept its events in memory only (storage refused or
   * lost): a restart (a new catalog or size, the element moved in the page) ends that engine and its
   * memory, so the next engine is given them again once ready. In order, at most MEMORY_EVENTS_KEPT.
   */
  #memoryClicks: string[] = [];
  /** Whether the engine now starting is still to be given #memoryClicks. */
  #replayPending = false;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.adoptedStyleSheets = [widgetStyleSheet()];
    this.#status = document.createElement('p');
    this.#status.className = 'status';
    this.#status.setAttribute('role', 'status');
    this.#list = document.createElement('ol');
    this.#list.className = 'list';
    this.#list.setAttribute('aria-label', WIDGET_STRINGS_EN.recommendations);
    this.#list.addEventListener('click', (event) => this.#onListClick(event));
    this.#storageLine = document.createElement('p');
    this.#storageLine.className = 'storage';
    this.#storageLine.hidden = true;
    this.#storageText = document.createElement('span');
    this.#storageText.setAttribute('role', 'status');
    this.#rememberButton = document.createElement('button');
    this.#rememberButton.type = 'button';
    this.#rememberButton.className = 'remember';
    this.#rememberButton.textContent = REMEMBER_LABEL; // until connected, where the language is known
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
    await this.#recordClick(itemId);
  }

  connectedCallback(): void {
    this.#applyLanguage();
    if (this.#engine || this.#visibility) return;
    if (this.#status.textContent === '') this.#showStatus((s) => s.loading);
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
    if (name === 'lang') this.#applyLanguage();
    else if (name === 'context') void this.#engine?.setContext(value ?? undefined);
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
      const message = error instanceof Error ? error.message : String(error);
      this.#showError((s) => fillTemplate(s.couldNotStart, { message: english(message) }));
      return;
    }
    worker.addEventListener('error', (event) =>
      this.#showError((s) => fillTemplate(s.stopped, { message: event.message ? english(event.message) : s.workerError })),
    );
    const engine = Comlink.wrap<EngineApi>(worker);
    this.#worker = worker;
    this.#engine = engine;
    this.#replayPending = this.#memoryClicks.length > 0;
    const onSnapshot = (snapshot: EngineSnapshot) => {
      if (engine !== this.#engine) return;
      this.#onSnapshot(snapshot);
      this.#render(snapshot);
    };
    engine.start(config, Comlink.proxy(onSnapshot)).catch((error: unknown) => {
      this.#showError(() => [english(error instanceof Error ? error.message : String(error))]);
    });
  }

  #stop(): void {
    this.#engine?.[Comlink.releaseProxy]();
    this.#worker?.terminate();
    this.#engine = undefined;
    this.#worker = undefined;
  }

  #render(snapshot: EngineSnapshot): void {
    this.#lastSnapshot = snapshot;
    this.#showStorage(snapshot.storage);
    // The engine's own message (a catalog error) is English.
    if (snapshot.phase === 'error') return this.#showError(() => [english(snapshot.error ?? 'unknown error')]);
    if (snapshot.phase !== 'ready') return this.#showStatus((s) => (snapshot.phase === 'loading' ? s.loading : ''));
    this.#showStatus((s) => (snapshot.feed.length === 0 ? s.nothingYet : ''));
    const language = this.#shownLanguage;
    const key = `${language}\u0002${snapshot.feed.map((item) => `${item.id}\u0000${item.reason}`).join('\u0001')}`;
    if (key === this.#renderedKey) return;
    this.#renderedKey = key;
    this.#list.replaceChildren(...snapshot.feed.map((item) => renderItem(item, language, this.#strings)));
  }

  /**
   * The widget's language: its own `lang` or the nearest ancestor's (the host page's `<html lang>`; in the
   * iframe embed, embed.ts sets it from `?lang=`), else the browser's.
   */
  #language(): WidgetLanguage {
    return pickWidgetLanguage([this.closest('[lang]')?.getAttribute('lang'), document.documentElement.getAttribute('lang'), navigator.languages?.[0], navigator.language]);
  }

  /** On connection and when `lang` changes: the words of the widget's language, then everything said again in them. */
  #applyLanguage(): void {
    const language = this.#language();
    if (language === this.#wantedLanguage) return;
    this.#wantedLanguage = language;
    void loadWidgetStrings(language).then((strings) => {
      // English words (Chinese could not be fetched) are marked as English.
      if (language === this.#wantedLanguage) this.#showLanguage(strings === WIDGET_STRINGS_EN ? 'en' : language, strings);
    });
  }

  #showLanguage(language: WidgetLanguage, strings: WidgetStrings): void {
    this.#shownLanguage = language;
    this.#strings = strings;
    // The widget's own words carry their language, whatever the host page's is.
    for (const node of [this.#status, this.#storageLine]) node.setAttribute('lang', language);
    this.#list.setAttribute('aria-label', strings.recommendations);
    this.#rememberButton.textContent = strings.remember;
    if (this.#statusText) this.#setStatusText(this.#statusText);
    this.#storageKey = '';
    if (this.#lastSnapshot) this.#render(this.#lastSnapshot);
  }

  /** Where the picks go: nothing shown while they are stored; one line (and maybe the button) while they are not. */
  #showStorage(storage: EngineSnapshot['storage']): void {
    const key = storage?.persisted === false ? `${storage.reason}\u0000${storage.notice}` : '';
    if (key === this.#storageKey) return;
    this.#storageKey = key;
    if (!storage || storage.persisted) {
      this.#storageOutcome = undefined;
      this.#storageLine.hidden = true;
      this.#storageText.textContent = '';
      this.#rememberButton.hidden = true;
      return;
    }
    this.#storageLine.hidden = false;
    const strings = this.#strings;
    // The widget's words for the reason (in English the same as the engine's `notice`; a test checks).
    this.#storageText.textContent = this.#storageOutcome ? strings[this.#storageOutcome] : strings.memory[storage.reason];
    this.#rememberButton.hidden = this.#storageOutcome === 'grantedButRefused' || !(storage.reason === 'unavailable' && canAskForStorageAccess());
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
      this.#storageOutcome = 'notAllowed';
      this.#storageText.textContent = this.#strings.notAllowed;
      button.disabled = false;
      return;
    }
    let persisted = (await this.#engine?.retryStorage().catch(() => false)) ?? false;
    if (!persisted && handle?.indexedDB) persisted = await this.#serveThroughHandle(handle.indexedDB);
    if (persisted) return; // the next snapshot hides the line
    button.hidden = true;
    this.#storageOutcome = 'grantedButRefused';
    this.#storageText.textContent = this.#strings.grantedButRefused;
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

  #showStatus(text: (strings: WidgetStrings) => string): void {
    this.#status.classList.remove('error');
    this.#status.setAttribute('role', 'status');
    this.#setStatusText((s) => [text(s)]);
  }

  /** "Recommendations are unavailable: …", the reason in words of the widget's language (`reason`) or the engine's English. */
  #showError(reason: (strings: WidgetStrings) => (string | Node)[]): void {
    this.#renderedKey = '';
    this.#list.replaceChildren();
    this.#status.classList.add('error');
    this.#status.setAttribute('role', 'alert');
    this.#setStatusText((s) => fillTemplate(s.unavailable, { reason: wrap(reason(s)) }));
  }

  /** Writes the status line (kept as a function of the words, to say it again in another language). */
  #setStatusText(text: (strings: WidgetStrings) => (string | Node)[]): void {
    this.#statusText = text;
    const pieces = text(this.#strings);
    if (pieces.every((piece) => typeof piece === 'string') && pieces.join('') === this.#status.textContent) return;
    this.#status.replaceChildren(...pieces);
  }

  /** A click (or the host's `viewed`) to the engine; kept for the next engine too while it lives in memory only. */
  async #recordClick(itemId: string): Promise<void> {
    const engine = this.#engine;
    if (!engine) return;
    const recorded = await engine.record('click', itemId).then(
      () => true,
      () => false, // ids outside the catalog mean nothing here
    );
    if (recorded && engine === this.#engine && this.#lastSnapshot?.storage?.persisted === false) {
      this.#memoryClicks.push(itemId);
      if (this.#memoryClicks.length > MEMORY_EVENTS_KEPT) this.#memoryClicks.shift();
    }
  }

  /** Each snapshot of the engine: hands a fresh engine the picks its predecessor held in memory. */
  #onSnapshot(snapshot: EngineSnapshot): void {
    if (snapshot.phase !== 'ready') return;
    if (this.#replayPending) {
      this.#replayPending = false;
      const engine = this.#engine;
      const clicks = [...this.#memoryClicks];
      void (async () => {
        for (const itemId of clicks) await engine?.record('click', itemId).catch(() => undefined);
      })();
    } else if (snapshot.storage?.persisted) {
      // Stored now (storage access granted, or a fresh engine that could store them): nothing to carry.
      this.#memoryClicks = [];
    }
  }

  #onListClick(event: Event): void {
    const button = (event.target as Element | null)?.closest('button.title');
    const itemId = button?.closest('li')?.dataset.itemId;
    if (!itemId) return;
    void this.#recordClick(itemId);
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

/** A detail in English (an error message from the browser or the engine), marked so inside another language's sentence. */
function english(text: string): HTMLSpanElement {
  const span = document.createElement('span');
  span.lang = 'en';
  span.textContent = text;
  return span;
}

/** Several pieces as one node (a template's value). */
function wrap(pieces: (string | Node)[]): Node {
  if (pieces.length === 1 && typeof pieces[0] !== 'string') return pieces[0]!;
  const fragment = document.createDocumentFragment();
  fragment.append(...pieces);
  return fragment;
}

/** Item text goes in as text nodes only: a title like `<img onerror=…>` is shown, never parsed. */
function renderItem(item: FeedItem, language: WidgetLanguage, strings: WidgetStrings): HTMLLIElement {
  const li = document.createElement('li');
  li.className = 'item';
  li.dataset.itemId = item.id;
  const title = document.createElement('button');
  title.type = 'button';
  title.className = 'title';
  title.textContent = item.title;
  li.append(title);
  if (item.byline) li.append(textSpan('byline', item.byline));
  const reason = textSpan('reason', widgetReason(item, strings));
  // The engine's English words, or a sentence of the widget's language (around a title as the catalog has it).
  reason.lang = strings.reason && item.why?.length ? language : 'en';
  li.append(reason);
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
