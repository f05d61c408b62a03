import { StrictMode } from 'react';
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
