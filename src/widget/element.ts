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
 * The element's life and its properties are here; what it shows is view.ts, its link to the engine
 * connection.ts, what its attributes say attributes.ts, asking for storage access storage-access.ts.
 * These must stay small: they hold no ML and no validation code; the engine's worker (which has both)
 * starts only when the element first comes near the viewport.
 */
import { engineConfig, widgetLanguage } from './attributes';
import { EngineConnection } from './connection';
import { askForStorageAccess } from './storage-access';
import { loadWidgetStrings, WIDGET_STRINGS_EN, type WidgetLanguage } from './strings';
import { WidgetView } from './view';

export { DEFAULT_MAX_ITEMS, parseMaxItems } from './attributes';
export { REMEMBER_LABEL } from './view';

export const ELEMENT_NAME = 'private-recs';
export const CLICK_EVENT = 'recs-click';

export interface RecsClickDetail {
  itemId: string;
}

export class PrivateRecsElement extends HTMLElement {
  static readonly observedAttributes = ['catalog', 'max-items', 'context', 'lang'];

  readonly #view: WidgetView;
  readonly #connection: EngineConnection;
  #catalogData: unknown = undefined;
  #visibility: IntersectionObserver | undefined;
  /** The language asked for last (see #applyLanguage): its words may still be loading. */
  #wantedLanguage: WidgetLanguage | undefined;

  constructor() {
    super();
    this.#view = new WidgetView(
      this.attachShadow({ mode: 'open' }),
      (itemId) => {
        void this.#connection.recordClick(itemId);
        this.dispatchEvent(new CustomEvent<RecsClickDetail>(CLICK_EVENT, { detail: { itemId }, bubbles: true, composed: true }));
      },
      () => void this.#askForStorage(),
    );
    this.#connection = new EngineConnection(
      (snapshot) => this.#view.render(snapshot),
      (during, message) => this.#view.showFailure(during, message),
    );
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
    await this.#connection.recordClick(itemId);
  }

  connectedCallback(): void {
    this.#applyLanguage();
    if (this.#connection.engine || this.#visibility) return;
    this.#view.showLoadingIfBlank();
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
    this.#connection.stop();
  }

  attributeChangedCallback(name: string, previous: string | null, value: string | null): void {
    if (previous === value) return;
    if (name === 'lang') this.#applyLanguage();
    else if (name === 'context') this.#connection.setContext(value);
    else if (this.#connection.engine) this.#restart(); // a new catalog or size: a fresh engine (layout and theme are pure CSS)
  }

  #restart(): void {
    this.#connection.stop();
    const config = engineConfig(this, this.#catalogData);
    if (config) this.#connection.start(config);
  }

  /** On connection and when `lang` changes: the words of the widget's language, then everything said again in them. */
  #applyLanguage(): void {
    const language = widgetLanguage(this);
    if (language === this.#wantedLanguage) return;
    this.#wantedLanguage = language;
    void loadWidgetStrings(language).then((strings) => {
      // English words (Chinese could not be fetched) are marked as English.
      if (language === this.#wantedLanguage) this.#view.showLanguage(strings === WIDGET_STRINGS_EN ? 'en' : language, strings);
    });
  }

  /** "Remember my picks on this site" (see storage-access.ts); whatever still refuses, the line says so. */
  async #askForStorage(): Promise<void> {
    this.#view.askingForStorage();
    this.#view.showStorageOutcome(await askForStorageAccess(() => this.#connection.engine));
  }
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
