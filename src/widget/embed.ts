/**
 * /embed.html: the widget in an iframe, for hosts that want the recommender's storage kept apart
 * from their own scripts (it lives under this app's origin; the host can read none of it).
 *
 * Query: origins (the host origins allowed to talk to it, comma-separated; required for messages),
 * layout, theme, max-items, context, catalog ("message": wait for the host's catalog message; or a
 * path on this origin; default: the app's catalog), lang (a language tag: the host page's language,
 * which the frame cannot read; default: the browser's). Protocol: see messages.ts.
 */
import { CLICK_EVENT, definePrivateRecs } from './element';
import { envelop, hostMessageSchema, readMessage, type WidgetMessage } from './messages';
import { parseOriginList } from './origins';
import { loadWidgetStrings, pickWidgetLanguage } from './strings';

const params = new URLSearchParams(location.search);
const { origins, rejected } = parseOriginList(params.get('origins'));
if (rejected.length > 0) console.warn(`private-recs embed: ignoring entries of ?origins= that are not exact origins: ${rejected.join(', ')}`);
if (origins.length === 0 && window.parent !== window) console.warn('private-recs embed: no ?origins= allowlist, so no host messages are accepted or sent.');

// The frame's page says the widget's language (embed.html's own `lang` is only a default): the element
// and the page's landmark follow it.
const language = pickWidgetLanguage([params.get('lang'), navigator.languages?.[0], navigator.language]);
document.documentElement.lang = language;
void loadWidgetStrings(language).then((strings) => document.querySelector('main')?.setAttribute('aria-label', strings.recommendations));

definePrivateRecs();
const element = document.createElement('private-recs');
for (const name of ['layout', 'theme', 'max-items', 'context'] as const) {
  const value = params.get(name);
  if (value) element.setAttribute(name, value);
}
const catalog = params.get('catalog');
if (catalog === 'message') {
  element.setAttribute('await-catalog', '');
} else if (catalog) {
  // Our CSP lets this page fetch from its own origin only; a host's catalog comes as a message.
  const url = new URL(catalog, location.href);
  if (url.origin === location.origin) element.setAttribute('catalog', url.href);
  else console.warn('private-recs embed: ?catalog= must be on this origin; send other catalogs with a "catalog" message.');
}
(document.querySelector('main') ?? document.body).append(element);

/** Only the allowlisted origin that is really our parent receives it (postMessage drops the rest). */
function postToHost(message: WidgetMessage): void {
  if (window.parent === window) return;
  for (const origin of origins) window.parent.postMessage(message, origin);
}

/**
 * A `viewed` of the same item again within this window is the same visit to its page (a host that
 * re-sends on every render, a replayed message): it is recorded once, not once per message.
 */
const VIEWED_REPLAY_MS = 60_000;
const lastViewed = new Map<string, number>();
function isReplay(itemId: string): boolean {
  const now = Date.now();
  const last = lastViewed.get(itemId);
  if (last !== undefined && now - last < VIEWED_REPLAY_MS) return true;
  if (lastViewed.size >= 1000) lastViewed.clear(); // bounded: a host cannot grow it without end
  lastViewed.set(itemId, now);
  return false;
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (event.source !== window.parent || !origins.includes(event.origin)) {
    if (readMessage(hostMessageSchema, event.data).kind !== 'foreign') {
      console.warn(`private-recs embed: ignored a message from ${event.origin}, which is not the allowlisted parent page.`);
    }
    return;
  }
  const read = readMessage(hostMessageSchema, event.data);
  if (read.kind === 'foreign') return;
  if (read.kind === 'invalid') {
    console.warn(`private-recs embed: ignored a malformed message (${read.reason}).`);
    return;
  }
  const message = read.message;
  switch (message.type) {
    case 'catalog':
      element.catalogData = message.catalog;
      break;
    case 'context':
      element.context = message.itemId;
      break;
    case 'viewed':
      if (isReplay(message.itemId)) break;
      void element.viewed(message.itemId);
      break;
  }
});

// The host learns which item was clicked, and nothing else.
element.addEventListener(CLICK_EVENT, (event) => postToHost(envelop<WidgetMessage>({ type: 'click', itemId: event.detail.itemId })));
postToHost(envelop<WidgetMessage>({ type: 'ready' }));
