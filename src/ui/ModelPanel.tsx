import type { EngineSnapshot } from '../engine/api';
import { LossChart } from './LossChart';
import { memoOnSnapshotFields } from './snapshot-memo';

/** The "Model" region: the compute backend, what the model is, and how its training went. */
export const ModelPanel = memoOnSnapshotFields(function ModelPanel({ snapshot }: { snapshot: EngineSnapshot }) {
  const { backend, training, embedding, catalog } = snapshot;
  return (
    <section className="panel" aria-labelledby="model-heading" id="model">
      <h2 id="model-heading">Model</h2>
      <dl className="model-facts">
        <dt>Compute backend</dt>
        <dd>{backend ? backend.label : 'starting…'}</dd>
        <dt>Text model</dt>
        <dd>
          {snapshot.encoder ? `${snapshot.encoder.label} (${snapshot.encoder.dimension} dimensions)` : '…'}, reading{' '}
          {catalog ? catalog.size.toLocaleString() : '…'} books
          {embedding?.active ? ` — ${embedding.done.toLocaleString()} read so far` : ''}
          {snapshot.prebuilt && snapshot.prebuilt.state !== 'discarded'
            ? `; ${snapshot.prebuilt.rows.toLocaleString()} from the catalog's precomputed embeddings${snapshot.prebuilt.state === 'checking' ? ' (being checked against this device)' : ', checked on this device'}`
            : ''}
        </dd>
        <dt>Recommendation model</dt>
        <dd>
          {training
            ? `Hybrid matrix factorisation (item = text projection + item correction), shared part ${training.globalSource}; ${training.onlineSteps} online ${training.onlineSteps === 1 ? 'update' : 'updates'} this visit.`
            : 'Starting once the text model has read the most popular books; until then your taste profile ranks the feed.'}
        </dd>
      </dl>
      {training?.progress && (
        <div className="training-progress">
          <label htmlFor="training-progress">
            Training on your history: epoch {training.progress.epoch} of {training.progress.epochs}
          </label>
          <progress id="training-progress" max={training.progress.epochs} value={training.progress.epoch} />
        </div>
      )}
      <h3>Training loss</h3>
      <LossChart losses={training?.losses ?? []} />
    </section>
  );
}, ['backend', 'training', 'embedding', 'catalog', 'encoder', 'prebuilt']);
