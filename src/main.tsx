import './ui/styles.css';

// React DOM and the app arrive as two dynamic imports, fetched together and evaluated in separate
// tasks: as one script they held the main thread ~85 ms at load on a 2-core machine (a long task on
// every first visit).
const app = import('./ui/Root');
void import('react-dom/client').then(async ({ createRoot }) => {
  const { Root } = await app;
  createRoot(document.getElementById('root')!).render(<Root />);
});
