import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { CONTENT_SECURITY_POLICY, CSP_HEADER } from './csp.ts';

/** Writes the CSP into the built page (the dev server needs inline scripts for hot reload, so not there). */
function cspMeta(): Plugin {
  return {
    name: 'csp-meta',
    apply: 'build',
    transformIndexHtml: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' },
    ],
  };
}

export default defineConfig({
  plugins: [react(), cspMeta()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    // The encoder lab (e2e/lab/encoders.html) is a second, unlinked page for the e2e tests and the
    // encoders benchmark: they need a real worker running the built encoder modules.
    rolldownOptions: { input: { main: 'index.html', 'encoder-lab': 'e2e/lab/encoders.html' } },
  },
  preview: {
    headers: { 'Content-Security-Policy': CSP_HEADER, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' },
  },
});
