import './ui/styles.css';
import { keptShellPainted } from './ui/kept-shell';

// A returning visit's kept feed is in the page already (ui/kept-shell.ts, painted by engine-boot.ts):
// React DOM and the app, a few hundred milliseconds of script on a 2-core machine, are evaluated after
// its first frame, not before it.
const shellPainted = keptShellPainted() ? new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))) : Promise.resolve();

// React DOM and the app arrive as two dynamic imports, fetched together and evaluated in separate
// tasks: as one script they held the main thread ~85 ms at load on a 2-core machine (a long task on
// every first visit).
void shellPainted.then(() => {
  const app = import('./ui/Root');
  void import('react-dom/client').then(async ({ createRoot }) => {
    const { Root } = await app;
    createRoot(document.getElementById('root')!).render(<Root />);
  });
});
