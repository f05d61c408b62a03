import { StrictMode } from 'react';
// First: the interface's language is chosen (and <html lang> set) before anything renders.
import './i18n';
import { App } from './App';
import { UpdateBanner } from './UpdateBanner';

/** Everything the page renders. */
export function Root() {
  return (
    <StrictMode>
      <UpdateBanner />
      <App />
    </StrictMode>
  );
}
