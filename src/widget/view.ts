/**
 * What the element shows in its shadow root: the status line, the list of picks, and the line that says
 * the picks are kept for this visit only (with the "Remember my picks" button). Everything is said in
 * the widget's language and said again when it changes; item text goes in as text, never as markup.
 */
import type { EngineSnapshot, FeedItem } from '../engine/api';
import type { FailedDuring } from './connection';
import { canAskForStorageAccess, type StorageAccessOutcome } from './storage-access';
import { fillTemplate, WIDGET_STRINGS_EN, widgetReason, type WidgetLanguage, type WidgetStrings } from './strings';
import { widgetStyleSheet } from './styles';

/** The accessible name of the Storage Access button in English: a contract for outside tests. */
export const REMEMBER_LABEL = WIDGET_STRINGS_EN.remember;

type StatusText = (strings: WidgetStrings) => (string | Node)[];

export class WidgetView {
  readonly #status: HTMLParagraphElement;
  readonly #list: HTMLOListElement;
  /** One small line while picks are kept for this visit only (the browser refuses or lost storage). */
  readonly #storageLine: HTMLParagraphElement;
  readonly #storageText: HTMLSpanElement;
  readonly #rememberButton: HTMLButtonElement;
  /** The storage state last shown: a snapshot repeats it on every change. */
  #storageKey = '';
  /** The feed last rendered, to skip re-rendering on progress-only snapshots. */
  #renderedKey = '';
  /** The language the texts are in now, and its words (English until another language's have loaded). */
  #shownLanguage: WidgetLanguage = 'en';
  #strings: WidgetStrings = WIDGET_STRINGS_EN;
  /** What the status line says, in words of any language: re-said when the language changes. */
  #statusText: StatusText | undefined;
  /** The Storage Access outcome shown in place of the storage notice, if any. */
  #storageOutcome: Exclude<StorageAccessOutcome, 'persisted'> | undefined;
  #lastSnapshot: EngineSnapshot | undefined;

  /** `onPick`: the user picked this item in the list. `onRemember`: the user pressed "Remember my picks on this site". */
  constructor(root: ShadowRoot, onPick: (itemId: string) => void, onRemember: () => void) {
    root.adoptedStyleSheets = [widgetStyleSheet()];
    this.#status = document.createElement('p');
    this.#status.className = 'status';
    this.#status.setAttribute('role', 'status');
    this.#list = document.createElement('ol');
    this.#list.className = 'list';
    this.#list.setAttribute('aria-label', WIDGET_STRINGS_EN.recommendations);
    this.#list.addEventListener('click', (event) => {
      const button = (event.target as Element | null)?.closest('button.title');
      const itemId = button?.closest('li')?.dataset.itemId;
      if (itemId) onPick(itemId);
    });
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
    this.#rememberButton.addEventListener('click', onRemember);
    this.#storageLine.append(this.#storageText, ' ', this.#rememberButton);
    root.append(this.#status, this.#list, this.#storageLine);
  }

  /** "Loading…" where the status line has said nothing yet. */
  showLoadingIfBlank(): void {
    if (this.#status.textContent === '') this.#showStatus((s) => s.loading);
  }

  render(snapshot: EngineSnapshot): void {
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

  /** Everything said again in this language's words. */
  showLanguage(language: WidgetLanguage, strings: WidgetStrings): void {
    this.#shownLanguage = language;
    this.#strings = strings;
    // The widget's own words carry their language, whatever the host page's is.
    for (const node of [this.#status, this.#storageLine]) node.setAttribute('lang', language);
    this.#list.setAttribute('aria-label', strings.recommendations);
    this.#rememberButton.textContent = strings.remember;
    if (this.#statusText) this.#setStatusText(this.#statusText);
    this.#storageKey = '';
    if (this.#lastSnapshot) this.render(this.#lastSnapshot);
  }

  /** The engine is not running: why, in the widget's words around the English detail. */
  showFailure(during: FailedDuring, message: string): void {
    if (during === 'start') this.#showError((s) => fillTemplate(s.couldNotStart, { message: english(message) }));
    else if (during === 'worker') this.#showError((s) => fillTemplate(s.stopped, { message: message ? english(message) : s.workerError }));
    else this.#showError(() => [english(message)]);
  }

  /** While the browser is asked for storage access: the button waits. */
  askingForStorage(): void {
    this.#rememberButton.disabled = true;
  }

  /** What asking for storage access came to (once stored, the next snapshot hides the line). */
  showStorageOutcome(outcome: StorageAccessOutcome): void {
    if (outcome === 'persisted') return;
    if (outcome === 'notAllowed') this.#rememberButton.disabled = false;
    else this.#rememberButton.hidden = true;
    this.#storageOutcome = outcome;
    this.#storageText.textContent = this.#strings[outcome];
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

  #showStatus(text: (strings: WidgetStrings) => string): void {
    this.#status.classList.remove('error');
    this.#status.setAttribute('role', 'status');
    this.#setStatusText((s) => [text(s)]);
  }

  /** "Recommendations are unavailable: …", the reason in words of the widget's language (`reason`) or the engine's English. */
  #showError(reason: StatusText): void {
    this.#renderedKey = '';
    this.#list.replaceChildren();
    this.#status.classList.add('error');
    this.#status.setAttribute('role', 'alert');
    this.#setStatusText((s) => fillTemplate(s.unavailable, { reason: wrap(reason(s)) }));
  }

  /** Writes the status line (kept as a function of the words, to say it again in another language). */
  #setStatusText(text: StatusText): void {
    this.#statusText = text;
    const pieces = text(this.#strings);
    if (pieces.every((piece) => typeof piece === 'string') && pieces.join('') === this.#status.textContent) return;
    this.#status.replaceChildren(...pieces);
  }
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
