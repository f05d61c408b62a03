/**
 * The host page's side of the iframe embed (built as /private-recs-host.js):
 *
 *   import { embedPrivateRecs } from 'https://recs.example/private-recs-host.js';
 *   const recs = embedPrivateRecs({ container, catalog, context: 'sku-42', onClick: (id) => open(id) });
 *   recs.setContext('sku-7'); recs.viewed('sku-7'); recs.destroy();
 *
 * Messages are accepted only from the widget's origin and its iframe's window, and validated
 * (versioned schema, messages.ts); anything else is ignored, malformed ones with a console warning.
 * The widget tells the host which recommendation was clicked, and nothing else.
 */
import { envelop, readMessage, widgetMessageSchema, type HostMessage } from './messages';
import { FRAME_TITLE, pickWidgetLanguage } from './strings';

export interface EmbedOptions {
  /** Where the iframe goes. */
  container: Element;
  /** The widget's embed page. Default: embed.html next to this script. */
  src?: string | URL;
  /** A catalog value (the catalog JSON format); default: the widget's own catalog. */
  catalog?: Record<string, unknown>;
  /** The id of the item on screen. */
  context?: string;
  maxItems?: number;
  layout?: 'row' | 'grid' | 'list';
  theme?: 'light' | 'dark' | 'auto';
  /**
   * The widget's language (a language tag: English, or Simplified Chinese for any Chinese tag). Default:
   * this page's `<html lang>`; with neither, the visitor's browser language.
   */
  lang?: string;
  /**
   * The iframe's accessible name. Default: "Recommendations", or "推荐" where the widget speaks Chinese
   * (by `lang`, this page's language, then the browser's, as the widget picks); give your own in any other language.
   */
  title?: string;
  /** CSS height of the iframe (default 320px). */
  height?: string;
  onClick?(itemId: string): void;
}

export interface EmbeddedRecs {
  readonly iframe: HTMLIFrameElement;
  setContext(itemId: string | null): void;
  /** The user opened this item on the host's site. */
  viewed(itemId: string): void;
  setCatalog(catalog: Record<string, unknown>): void;
  destroy(): void;
}

export function embedPrivateRecs(options: EmbedOptions): EmbeddedRecs {
  const src = new URL(options.src ?? `${import.meta.env.BASE_URL}embed.html`, options.src ? location.href : import.meta.url);
  const widgetOrigin = src.origin;
  src.searchParams.set('origins', location.origin);
  if (options.layout) src.searchParams.set('layout', options.layout);
  if (options.theme) src.searchParams.set('theme', options.theme);
  if (options.maxItems) src.searchParams.set('max-items', String(options.maxItems));
  if (options.context) src.searchParams.set('context', options.context);
  if (options.catalog) src.searchParams.set('catalog', 'message');
  // The frame cannot read this page's language: it goes in the URL.
  const lang = options.lang ?? document.documentElement.lang;
  if (lang) src.searchParams.set('lang', lang);

  let catalog = options.catalog;
  let context: string | null = options.context ?? null;
  let ready = false;

  const iframe = document.createElement('iframe');
  iframe.src = src.href;
  iframe.title = options.title ?? FRAME_TITLE[pickWidgetLanguage([lang, ...navigator.languages])];
  // Scripts and its own origin's storage, nothing more: no top navigation, popups or forms. Where the
  // browser blocks third-party storage, the widget may ask for it on the user's click (Storage Access API).
  iframe.sandbox.add('allow-scripts', 'allow-same-origin', 'allow-storage-access-by-user-activation');
  iframe.allow = 'storage-access';
  iframe.referrerPolicy = 'no-referrer';
  iframe.style.cssText = `border: 0; width: 100%; height: ${options.height ?? '320px'};`;

  const send = (message: HostMessage) => iframe.contentWindow?.postMessage(message, widgetOrigin);
  const sendState = () => {
    if (catalog) send(envelop<HostMessage>({ type: 'catalog', catalog }));
    send(envelop<HostMessage>({ type: 'context', itemId: context }));
  };

  const onMessage = (event: MessageEvent<unknown>) => {
    if (event.source !== iframe.contentWindow) return; // other frames' business
    if (event.origin !== widgetOrigin) {
      console.warn(`private-recs host: ignored a message from ${event.origin}, not the widget's origin ${widgetOrigin}.`);
      return;
    }
    const read = readMessage(widgetMessageSchema, event.data);
    if (read.kind === 'foreign') return;
    if (read.kind === 'invalid') {
      console.warn(`private-recs host: ignored a malformed message (${read.reason}).`);
      return;
    }
    if (read.message.type === 'ready') {
      ready = true; // sent again if the iframe reloads: the state goes again too
      sendState();
    } else {
      options.onClick?.(read.message.itemId);
    }
  };
  window.addEventListener('message', onMessage);
  options.container.append(iframe);

  return {
    iframe,
    setContext(itemId) {
      context = itemId;
      if (ready) send(envelop<HostMessage>({ type: 'context', itemId }));
    },
    viewed(itemId) {
      if (ready) send(envelop<HostMessage>({ type: 'viewed', itemId }));
    },
    setCatalog(value) {
      catalog = value;
      if (ready) send(envelop<HostMessage>({ type: 'catalog', catalog: value }));
    },
    destroy() {
      window.removeEventListener('message', onMessage);
      iframe.remove();
    },
  };
}
