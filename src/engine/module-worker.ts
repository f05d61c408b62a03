/**
 * Starting a module worker whose script may live on another origin than the code starting it.
 * Browsers refuse `new Worker(url)` for a script of another origin: a widget on a host page (and the
 * engine worker it starts, which runs in the host's origin) starts its workers from a one-line blob
 * module that imports the real one (a cross-origin module import, allowed by CORS). The worker then
 * runs in the host's origin, under the host's CSP (which must allow `worker-src blob:` and our origin
 * in script-src and connect-src: see docs/widget.md). Works on the page and inside a worker (nested workers).
 */
export function startModuleWorker(url: URL, name: string): Worker {
  if (url.origin === self.location.origin) return new Worker(url, { type: 'module', name });
  const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};\n`], { type: 'text/javascript' }));
  const worker = new Worker(shim, { type: 'module', name });
  // The worker has fetched its script once it speaks; the blob URL is not needed after that.
  worker.addEventListener('message', () => URL.revokeObjectURL(shim), { once: true });
  return worker;
}
