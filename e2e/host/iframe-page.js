import { embedPrivateRecs } from '{{APP_ORIGIN}}/private-recs-host.js';

window.hostClicks = [];
// Everything the host page receives by postMessage, to check that it is only "ready" and clicks.
window.hostMessages = [];
window.addEventListener('message', (event) => window.hostMessages.push({ origin: event.origin, data: event.data }));

const catalog = await fetch('/catalog.json').then((response) => response.json());
window.recs = embedPrivateRecs({
  container: document.getElementById('slot'),
  catalog,
  maxItems: 4,
  layout: 'list',
  height: '420px',
  onClick: (itemId) => window.hostClicks.push(itemId),
});
