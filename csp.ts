/**
 * The Content-Security-Policy: only the app's own origin may serve scripts, workers, fetches, images.
 * 'wasm-unsafe-eval' lets the TF.js WASM backend compile its (same-origin) binary; nothing else is relaxed.
 * Sent as a header by `vite preview` (which also covers the worker: a worker obeys its own response's
 * policy, not the page's) and written as a <meta> into the built index.html for hosts without headers.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "manifest-src 'self'",
].join('; ');

/** frame-ancestors is ignored in <meta>; it belongs in headers only. */
export const CSP_HEADER = `${CONTENT_SECURITY_POLICY}; frame-ancestors 'self'`;

/**
 * The embed page (/embed.html) is made to be framed, but only by the pages it will talk to: its
 * frame-ancestors are exactly its `?origins=` allowlist (none given: 'self' only). Static hosts that
 * cannot compute headers per request should send `frame-ancestors` with their fixed list of hosts.
 */
export function embedCspHeader(allowedOrigins: readonly string[]): string {
  const ancestors = allowedOrigins.length > 0 ? allowedOrigins.join(' ') : "'self'";
  return `${CONTENT_SECURITY_POLICY}; frame-ancestors ${ancestors}`;
}
