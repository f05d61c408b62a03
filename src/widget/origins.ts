/**
 * Origin allowlists for the iframe embed: which host pages may talk to the widget (and frame it).
 * Pure and dependency-free: used by the embed page, the host helper's tests and vite.config.ts (the
 * preview server's frame-ancestors header is built from the same list).
 */

/** An exact http(s) origin ("https://shop.example:8443"), or undefined for anything else. */
export function asOrigin(text: string): string | undefined {
  const trimmed = text.trim();
  try {
    const url = new URL(trimmed);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    // Only a bare origin is accepted: a path, query or credentials mean someone misunderstood the list.
    return url.origin === trimmed ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses a comma- or space-separated list of origins (the embed page's `?origins=`). Entries that are
 * not exact origins are dropped (and reported), never widened: a typo must not allow everyone.
 */
export function parseOriginList(list: string | null | undefined): { origins: string[]; rejected: string[] } {
  const origins: string[] = [];
  const rejected: string[] = [];
  for (const entry of (list ?? '').split(/[\s,]+/).filter(Boolean)) {
    const origin = asOrigin(entry);
    if (origin === undefined) rejected.push(entry);
    else if (!origins.includes(origin)) origins.push(origin);
  }
  return { origins, rejected };
}
