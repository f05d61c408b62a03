import { useTranslation } from 'react-i18next';
import type { EngineSnapshot } from '../engine/api';
import { formatNumber } from './format';
import { LossChart } from './LossChart';
import { memoOnSnapshotFields } from './snapshot-memo';

/** The "Model" region: the compute backend, what the model is, and how its training went. */
export const ModelPanel = memoOnSnapshotFields(
  function ModelPanel({ snapshot }: { snapshot: EngineSnapshot }) {
    const { t } = useTranslation();
    const { backend, training, embedding, catalog } = snapshot;
    const encoder = snapshot.encoder ? t('model.encoder', { label: snapshot.encoder.label, dimension: formatNumber(snapshot.encoder.dimension) }) : '…';
    const prebuilt = snapshot.prebuilt && snapshot.prebuilt.state !== 'discarded' ? snapshot.prebuilt : undefined;
    // The engine's own default wording of where the shared model came from is said in the interface's language.
    const source = training?.globalSource === 'built on this device from the catalog text' ? t('model.defaultSource') : training?.globalSource;
    return (
      <section className="panel" aria-labelledby="model-heading" id="model">
        <h2 id="model-heading">{t('model.heading')}</h2>
        <dl className="model-facts">
          <dt>{t('model.backend')}</dt>
          <dd>{backend ? backend.label : t('model.starting')}</dd>
          <dt>{t('model.textModel')}</dt>
          <dd>
            {t('model.reading', { encoder, books: catalog ? formatNumber(catalog.size) : '…' })}
            {embedding?.active ? t('model.readSoFar', { books: formatNumber(embedding.done) }) : ''}
            {prebuilt ? t(prebuilt.state === 'checking' ? 'model.prebuiltChecking' : 'model.prebuiltChecked', { rows: formatNumber(prebuilt.rows) }) : ''}
          </dd>
          <dt>{t('model.recommendationModel')}</dt>
          <dd>{training ? t('model.hybrid', { source, count: training.onlineSteps }) : t('model.notYet')}</dd>
        </dl>
        {training?.progress && (
          <div className="training-progress">
            <label htmlFor="training-progress">{t('model.trainingProgress', { epoch: training.progress.epoch, epochs: training.progress.epochs })}</label>
            <progress id="training-progress" max={training.progress.epochs} value={training.progress.epoch} />
          </div>
        )}
        <h3>{t('model.lossHeading')}</h3>
        <LossChart losses={training?.losses ?? []} />
      </section>
    );
  },
  ['backend', 'training', 'embedding', 'catalog', 'encoder', 'prebuilt'],
);
