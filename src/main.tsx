import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import { UpdateBanner } from './ui/UpdateBanner';
import './ui/styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <UpdateBanner />
    <App />
  </StrictMode>,
);
