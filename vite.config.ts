import { defineConfig, type Plugin, type PreviewServer } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CONTENT_SECURITY_POLICY,
  contentSecurityPolicy,
  CORP_EMBEDDABLE,
  CROSS_ORIGIN_ISOLATION_HEADERS,
  cspHeader,
  embedCspHeader,
  staticHostHeaders,
} from './csp.ts';
import { parseOriginList } from './src/widget/origins.ts';
import { deploymentOrigins, resolveDeployment } from './src/core/deployment.ts';

/**
 * The deployment (src/core/deployment.ts): VITE_AGGREGATOR_ORIGIN and/or VITE_VERIFIABLE_LEADER + _HELPER, else
 * public/deployment.json, else none. Read once per build: the origins it names go into the CSP's connect-src (the
 * app's pages only) and, validated, into the app (engine/contribute.ts reads __PRIVATE_RECS_DEPLOYMENT__). A bad
 * value fails the build.
 */
const DEPLOYMENT_FILE = existsSync('public/deployment.json') ? readFileSync('public/deployment.json', 'utf8') : undefined;
const ENV_PAIR = { leader: process.env.VITE_VERIFIABLE_LEADER, helper: process.env.VITE_VERIFIABLE_HELPER };
if ((process.env.VITE_AGGREGATOR_ORIGIN || ENV_PAIR.leader || ENV_PAIR.helper) && DEPLOYMENT_FILE !== undefined) {
  // Two sources could disagree (the copied file would then contradict the CSP): one at a time.
  throw new Error('Both the environment (VITE_AGGREGATOR_ORIGIN / VITE_VERIFIABLE_*) and public/deployment.json name the deployment: use one of them.');
}
const DEPLOYMENT = resolveDeployment(process.env.VITE_AGGREGATOR_ORIGIN, DEPLOYMENT_FILE, ENV_PAIR);
const AGGREGATOR_ORIGINS = deploymentOrigins(DEPLOYMENT);

/**
 * Test-only pages (e2e/lab/): built only when VITE_LABS=1 (`npm run test:e2e` sets it; the benches that
 * drive a lab say so), never in a deployment's dist/. One line per lab.
 */
const LAB_PAGES: Record<string, string> = {
  // The encoder lab: the encoder modules in a real worker (e2e/encoders.spec.ts, isolation, npm run bench -- encoders / browser).
  'encoder-lab': 'e2e/lab/encoders.html',
  // The model lab: the training code on a chosen TF.js backend (e2e/model-backends.spec.ts).
  'model-lab': 'e2e/lab/model.html',
  // The scale lab: the index, OPFS vectors and shard downloads at catalog scale (issue 21; bench-scale --browser).
  'scale-lab': 'e2e/lab/scale.html',
};
const BUILD_LABS = process.env.VITE_LABS === '1';

/** Writes the CSP into the built pages (the dev server needs inline scripts for hot reload, so not there). */
function cspMeta(): Plugin {
  return {
    name: 'csp-meta',
    apply: 'build',
    transformIndexHtml: (_html: string, context: { path: string }) => [
      {
        tag: 'meta',
        // Only the app's page may reach the aggregator; the embed page and the labs keep connect-src 'self'.
        attrs: {
          'http-equiv': 'Content-Security-Policy',
          content: context.path === '/index.html' ? contentSecurityPolicy(AGGREGATOR_ORIGINS) : CONTENT_SECURITY_POLICY,
        },
        injectTo: 'head-prepend',
      },
    ],
  };
}

/** Files other origins may load: the widget scripts and everything they pull in (see docs/widget.md). */
const EMBEDDABLE = /^\/(widget\.js|private-recs-host\.js|assets\/|models\/|catalog\/)/;

/**
 * Headers of `vite preview` (our reference deployment), per path:
 * - CSP everywhere; /embed.html may be framed by its ?origins= allowlist, every other page by itself only;
 * - CORS for the embeddable files only (public, credential-free static files), so a host page on another
 *   origin can import the widget and its worker can fetch the model. No other response is shared;
 * - cross-origin isolation (COOP + COEP) on every response, worker scripts included, so the app's
 *   workers get SharedArrayBuffer and WASM threads; CORP cross-origin on the embeddable files and the
 *   embed page, so an isolated host page may load them too (csp.ts; public/_headers for static hosts).
 */
function previewHeaders(): Plugin {
  return {
    name: 'preview-headers',
    configurePreviewServer(server: PreviewServer) {
      // The aggregator the served build was made for (its deployment.json: see deploymentFile), not this process's environment.
      const built = join(server.config.build.outDir, 'deployment.json');
      const aggregatorOrigins = deploymentOrigins(resolveDeployment(undefined, existsSync(built) ? readFileSync(built, 'utf8') : undefined));
      server.middlewares.use((req, res, next) => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const isEmbed = url.pathname === '/embed.html' || url.pathname === '/embed';
        res.setHeader(
          'Content-Security-Policy',
          isEmbed ? embedCspHeader(parseOriginList(url.searchParams.get('origins')).origins) : cspHeader(aggregatorOrigins),
        );
        for (const [name, value] of Object.entries(CROSS_ORIGIN_ISOLATION_HEADERS)) res.setHeader(name, value);
        if (EMBEDDABLE.test(url.pathname)) res.setHeader('Access-Control-Allow-Origin', '*');
        if (EMBEDDABLE.test(url.pathname) || isEmbed) for (const [name, value] of Object.entries(CORP_EMBEDDABLE)) res.setHeader(name, value);
        next();
      });
    },
  };
}

/**
 * dist/deployment.json: the validated deployment the build was made with (when it names an aggregator), so
 * `vite preview` sends the CSP header that matches the build's <meta>, and a deployer can see what it names.
 */
function deploymentFile(): Plugin {
  return {
    name: 'deployment-file',
    apply: 'build',
    generateBundle() {
      // A public/deployment.json is copied as it is; the environment's value is written here.
      if (AGGREGATOR_ORIGINS.length > 0 && DEPLOYMENT_FILE === undefined)
        this.emitFile({ type: 'asset', fileName: 'deployment.json', source: `${JSON.stringify(DEPLOYMENT, null, 2)}\n` });
    },
  };
}

/**
 * The app page's dynamic imports (main.tsx: the React bundle and React DOM) as <link rel="modulepreload">:
 * fetched and compiled beside the entry's own modules instead of after the entry has run, a round trip
 * later (through the service worker on a returning visit). They are still evaluated in separate tasks.
 */
function preloadAppChunks(): Plugin {
  let base = '/';
  return {
    name: 'preload-app-chunks',
    apply: 'build',
    configResolved(config) {
      base = config.base;
    },
    transformIndexHtml: {
      order: 'post',
      handler: (_html, context) => {
        const entry = context.chunk;
        if (context.path !== '/index.html' || !entry || !context.bundle) return [];
        const preloaded = new Set<string>([entry.fileName, ...entry.imports]);
        const wanted: string[] = [];
        const add = (fileName: string) => {
          if (preloaded.has(fileName)) return;
          preloaded.add(fileName);
          wanted.push(fileName);
          const chunk = context.bundle![fileName];
          if (chunk?.type === 'chunk') chunk.imports.forEach(add);
        };
        entry.dynamicImports.forEach(add);
        return wanted.map((fileName) => ({
          tag: 'link',
          attrs: { rel: 'modulepreload', crossorigin: true, href: `${base}${fileName}` },
          injectTo: 'head' as const,
        }));
      },
    },
  };
}

/** dist/_headers for static hosts that read one (Netlify, Cloudflare Pages): see csp.ts staticHostHeaders. */
function staticHeadersFile(): Plugin {
  return {
    name: 'static-headers-file',
    apply: 'build',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: '_headers', source: staticHostHeaders() });
    },
  };
}

/**
 * Version of a runtime cache: a hash of what it holds, so new model files or a new catalog land in
 * a new cache instead of being served stale by cache-first.
 */
function contentVersion(dir: string): string {
  const hash = createHash('sha256');
  if (existsSync(dir)) {
    for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
      const path = join(dir, name);
      hash.update(name);
      try {
        hash.update(readFileSync(path));
      } catch {
        // a directory
      }
    }
  }
  return hash.digest('hex').slice(0, 10);
}

/** The app shell may hold the ML runtime chunk (about 2.5 MB): precached deliberately, above Workbox's 2 MiB default. */
const PRECACHE_MAX_BYTES = 4 * 1024 * 1024;

export default defineConfig({
  plugins: [
    react(),
    cspMeta(),
    preloadAppChunks(),
    previewHeaders(),
    staticHeadersFile(),
    deploymentFile(),
    VitePWA({
      // "A new version is ready — Reload" (src/ui/UpdateBanner.tsx) asks before a new worker takes over.
      registerType: 'prompt',
      injectRegister: false,
      manifest: {
        id: '/',
        name: 'Private Recs',
        short_name: 'Private Recs',
        description: 'Book recommendations computed entirely in your browser. Nothing you do leaves it.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#ffffff',
        theme_color: '#1a56b0',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: '/favicon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
        ],
      },
      workbox: {
        // The app shell: pages, scripts (the ML runtime and its WASM included), styles, icons.
        globPatterns: ['**/*.{html,js,css,wasm,svg,png,webmanifest}'],
        // Models (28 MB) and the catalog (2 MB) are cached at run time, when first used; the catalog's
        // precomputed embeddings (*.emb, not matched by globPatterns and under catalog/) are never precached. The embed page
        // is left to the network: its frame-ancestors header depends on the query (see previewHeaders).
        // Not precached either: the encoder and model lab pages (tests and benchmarks only) and the ONNX Runtime WASM
        // that Vite copies for it (27 MB): Transformers.js loads its own copy from /models/onnxruntime-web/.
        globIgnores: [
          'models/**',
          'catalog/**',
          'embed.html',
          'e2e/**',
          'assets/ort-wasm*',
          'assets/encoder-lab*',
          'assets/model-lab*',
          'assets/scale-lab*',
          'assets/scale-worker*',
        ],
        maximumFileSizeToCacheInBytes: PRECACHE_MAX_BYTES,
        navigateFallback: 'index.html',
        // Page loads race the network against the worker's start (public/sw-navigation-race.js).
        importScripts: ['sw-navigation-race.js'],
        navigateFallbackDenylist: [/^\/embed/, /^\/models\//, /^\/catalog\//],
        cleanupOutdatedCaches: true,
        runtimeCaching: [
          {
            urlPattern: /\/models\/.*/,
            handler: 'CacheFirst',
            options: { cacheName: `private-recs-models-${contentVersion('public/models')}`, cacheableResponse: { statuses: [200] } },
          },
          {
            // Not the precomputed embeddings (<catalog>.<model>.emb, 5 MB for goodbooks at 512-d): once
            // checked, their vectors live in IndexedDB, and a second copy here would only double the
            // storage; a visit that did not get to check them fetches the file again. Nor a large
            // catalog's files (columns, row shards, vector shards, text index: 57 + 72 MB and more at 1M),
            // which the worker keeps in OPFS, nor its head (.head.json), which must be asked anew to see
            // a new catalog version.
            urlPattern: /\/catalog\/(?![^?#]*\.(?:emb|columns|text-index|head\.json|rows-\d+\.bin)(?:[?#]|$))/,
            handler: 'CacheFirst',
            options: { cacheName: `private-recs-catalog-${contentVersion('public/catalog')}`, cacheableResponse: { statuses: [200] } },
          },
        ],
      },
    }),
  ],
  worker: { format: 'es' },
  define: { __PRIVATE_RECS_DEPLOYMENT__: JSON.stringify(DEPLOYMENT) },
  // Built URLs relative to the file that uses them (new URL(…, import.meta.url)): the widget and its
  // worker run under a host page's origin, and must still fetch our WASM and chunks from ours.
  experimental: { renderBuiltUrl: (_file: string, { hostType }: { hostType: 'js' | 'css' | 'html' }) => (hostType === 'js' ? { relative: true } : undefined) },
  build: {
    // VITE_OUT_DIR lets two checkouts (or two people on one) build and test side by side.
    outDir: process.env.VITE_OUT_DIR ?? 'dist',
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    manifest: true,
    rolldownOptions: {
      input: {
        index: 'index.html',
        embed: 'embed.html',
        widget: 'src/widget/private-recs.ts',
        'private-recs-host': 'src/widget/host.ts',
        ...(BUILD_LABS ? LAB_PAGES : {}),
      },
      // Hosts link the widget scripts by a stable name; everything else is content-hashed.
      preserveEntrySignatures: 'exports-only',
      output: {
        entryFileNames: (chunk: { name: string }) => (chunk.name === 'widget' || chunk.name === 'private-recs-host' ? '[name].js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  // The dev server is isolated too (same headers as preview, minus the CSP: see cspMeta), so threads
  // behave in development as deployed.
  server: { headers: { ...CROSS_ORIGIN_ISOLATION_HEADERS } },
  preview: {
    cors: false,
    headers: { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' },
  },
});
