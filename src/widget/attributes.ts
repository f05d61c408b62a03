/** What the element's attributes and its place in the page say: the engine's configuration and the widget's language. */
import type { EngineConfig } from '../engine/api';
import { widgetAssetUrl } from './engine-worker';
import { pickWidgetLanguage, type WidgetLanguage } from './strings';

export const DEFAULT_MAX_ITEMS = 6;
const MAX_MAX_ITEMS = 50;

/** `max-items` as an integer in [1, 50]; anything else means the default. */
export function parseMaxItems(value: string | null): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_MAX_ITEMS) : DEFAULT_MAX_ITEMS;
}

/** The engine's configuration from the element's attributes; none while it still awaits its catalog (`await-catalog`). */
export function engineConfig(element: HTMLElement, catalogData: unknown): EngineConfig | undefined {
  const catalogAttribute = element.getAttribute('catalog');
  const waiting = element.hasAttribute('await-catalog') && catalogData === undefined;
  if (waiting) return undefined;
  return {
    // The host's catalog path is the host's (its page's base URL); the default catalog is ours.
    catalogUrl: catalogAttribute ? new URL(catalogAttribute, document.baseURI).href : widgetAssetUrl('catalog/goodbooks-10k.json'),
    catalog: catalogData,
    encoderUrl: widgetAssetUrl('models/use-lite/'),
    feedSize: parseMaxItems(element.getAttribute('max-items')),
    contextItemId: element.getAttribute('context') ?? undefined,
  };
}

/**
 * The widget's language: its own `lang` or the nearest ancestor's (the host page's `<html lang>`; in the
 * iframe embed, embed.ts sets it from `?lang=`), else the browser's.
 */
export function widgetLanguage(element: Element): WidgetLanguage {
  return pickWidgetLanguage([
    element.closest('[lang]')?.getAttribute('lang'),
    document.documentElement.getAttribute('lang'),
    navigator.languages?.[0],
    navigator.language,
  ]);
}
