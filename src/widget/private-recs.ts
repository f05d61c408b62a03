/**
 * The widget script (built as /widget.js): `<script type="module" src="https://recs.example/widget.js">`
 * defines <private-recs>. Kept to the element alone; the engine loads lazily in a worker.
 */
import { definePrivateRecs } from './element';

export { PrivateRecsElement, CLICK_EVENT, type RecsClickDetail } from './element';

definePrivateRecs();
