/**
 * The Content-Security-Policy: only the app's own origin may serve scripts, workers, fetches, images.
 * 'wasm-unsafe-eval' lets the TF.js and ONNX Runtime WASM backends compile their (same-origin) binaries;
 * nothing else is relaxed. ONNX Runtime's thread workers (cross-origin isolated pages only) are started
 * from its own same-origin script (worker-src 'self').
 * Sent as a header by `vite preview` (which also covers the worker: a worker obeys its own response's
 * policy, not the page's) and written as a <meta> into the built index.html for hosts without headers.
 */
export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

/**
 * The policy with `connect-src 'self' <origins>` for a deployment that names an aggregation service or a
 * verifiable pair (src/core/deployment.ts deploymentOrigins): exactly those origins, nothing wider, and only
 * for the app's own pages (the embed page and the widget never contribute, so they keep 'self').
 */
export function contentSecurityPolicy(aggregatorOrigins?: string | readonly string[]): string {
  const origins = aggregatorOrigins === undefined ? [] : typeof aggregatorOrigins === 'string' ? [aggregatorOrigins] : aggregatorOrigins;
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    ["connect-src 'self'", ...origins].join(' '),
    "img-src 'self' data:",
    "style-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "manifest-src 'self'",
  ].join('; ');
}

/** frame-ancestors is ignored in <meta>; it belongs in headers only. */
export const CSP_HEADER = cspHeader();

export function cspHeader(aggregatorOrigins?: string | readonly string[]): string {
  return `${contentSecurityPolicy(aggregatorOrigins)}; frame-ancestors 'self'`;
}

/**
 * The embed page (/embed.html) is made to be framed, but only by the pages it will talk to: its
 * frame-ancestors are exactly its `?origins=` allowlist (none given: 'self' only). Static hosts that
 * cannot compute headers per request should send `frame-ancestors` with their fixed list of hosts.
 */
export function embedCspHeader(allowedOrigins: readonly string[]): string {
  const ancestors = allowedOrigins.length > 0 ? allowedOrigins.join(' ') : "'self'";
  return `${CONTENT_SECURITY_POLICY}; frame-ancestors ${ancestors}`;
}

/**
 * Cross-origin isolation, sent on every response of the reference deployment (pages AND worker
 * scripts: a dedicated worker is isolated only if its own script response carries COEP). Isolated
 * pages and workers get SharedArrayBuffer, so ONNX Runtime Web runs its WASM on several threads
 * (`npm run bench -- encoders`, docs/models.md). Without these headers everything still works,
 * single-threaded.
 *
 * `require-corp` rather than `credentialless`: every resource the app loads is its own (same-origin
 * needs no CORP), require-corp is supported wherever COEP is (Safari has no credentialless), and it
 * never turns a request into a credential-less one behind the app's back.
 */
export const CROSS_ORIGIN_ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * On the files other sites load (the widget scripts, their chunks, models, catalog: vite.config.ts
 * EMBEDDABLE) and on /embed.html: lets a host page that is itself cross-origin isolated (COEP
 * require-corp) load them and frame the embed page. Non-isolated hosts do not need it.
 */
export const CORP_EMBEDDABLE: Readonly<Record<string, string>> = { 'Cross-Origin-Resource-Policy': 'cross-origin' };

/** Paths other sites load (see docs/widget.md), as `_headers` patterns: CORS and CORP cross-origin. */
export const EMBEDDABLE_PATHS = ['/widget.js', '/private-recs-host.js', '/assets/*', '/models/*', '/catalog/*'] as const;

/**
 * The `_headers` file the build writes into dist/ for static hosts that read one (Netlify, Cloudflare
 * Pages): the isolation headers on every path, CORS and CORP on the embeddable files, CORP on the embed
 * page. The CSP is not in it (hosts merge the values of headers matched by several rules, and the embed
 * page's frame-ancestors differs): the built pages carry it in a <meta>; see docs/deploying.md.
 */
export function staticHostHeaders(): string {
  const block = (path: string, headers: Readonly<Record<string, string>>) =>
    [path, ...Object.entries(headers).map(([name, value]) => `  ${name}: ${value}`)].join('\n');
  return (
    [
      '# Written by `npm run build` from csp.ts: the headers `vite preview` sends, for hosts that read _headers.',
      block('/*', { ...CROSS_ORIGIN_ISOLATION_HEADERS, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' }),
      ...EMBEDDABLE_PATHS.map((path) => block(path, { 'Access-Control-Allow-Origin': '*', ...CORP_EMBEDDABLE })),
      block('/embed.html', CORP_EMBEDDABLE),
      block('/embed', CORP_EMBEDDABLE),
    ].join('\n\n') + '\n'
  );
}
