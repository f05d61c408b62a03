import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { builtDeployment } from '../core/deployment';
import type { ContributionMode, ContributionState } from '../engine/api';
import type { EngineClient } from './engine-client';
import { formatDecimal, formatNumber } from './format';

/** The engine's report (engine/contribute.ts ContributionReport): epsilonBudget is the device's lifetime ε budget. */
type Contribution = ContributionState & { epsilonBudget?: number };

interface ContributeSectionProps {
  engine: EngineClient;
  /** The engine's report (snapshot.contribution); absent: the build names no aggregator, or the engine has not read the choice yet. */
  contribution: Contribution | undefined;
  /** The aggregator this build names (core/deployment.ts), if any. */
  origin: string | undefined;
  announce(message: string): void;
}

/** The verifiable pair this build names (core/deployment.ts), if any. */
const PAIR = builtDeployment().verifiable;

/**
 * "Contribute to the shared model" (Privacy panel): what would be sent, to which origin(s), at what privacy
 * cost, and the user's consent, off by default. Without an aggregator it says there is none: the model
 * update file above/below stays the only way to share. Where the build names both a masked aggregator and a
 * verifiable pair, the user chooses the mode (and so the trust model).
 */
export function ContributeSection({ engine, contribution, origin, announce }: ContributeSectionProps) {
  const { t } = useTranslation();
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  // The mode just chosen, shown at once (the engine's report follows when it has stored it).
  const [chosen, setChosen] = useState<ContributionMode | undefined>(undefined);

  if (!origin && !PAIR) {
    return (
      <div className="contribute" role="group" aria-labelledby="contribute-heading">
        <h3 id="contribute-heading">{t('contribute.heading')}</h3>
        <p>{t('contribute.none')}</p>
      </div>
    );
  }

  const enabled = contribution?.enabled ?? false;
  const mode: ContributionMode = chosen ?? contribution?.mode ?? (origin ? 'masked' : 'verifiable');
  const pair = mode === 'verifiable' ? PAIR : undefined;
  // The engine joins no round past the budget (it says so in `message` too); said here in the user's language.
  const budgetSpent = contribution?.epsilonBudget !== undefined && contribution.epsilonNext > contribution.epsilonBudget * (1 + 1e-9);
  const toggle = async () => {
    setError(undefined);
    setBusy(true);
    try {
      await engine.setContributing(!enabled, mode);
      announce(enabled ? t('contribute.turnedOff') : pair ? t('contribute.turnedOnVerifiable', pair) : t('contribute.turnedOn', { origin }));
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : String(reason));
    } finally {
      setBusy(false);
    }
  };
  const choose = async (option: ContributionMode) => {
    setError(undefined);
    setBusy(true);
    setChosen(option);
    try {
      await engine.setContributing(enabled, option);
      announce(t('contribute.modeChanged', { mode: t(option === 'masked' ? 'contribute.modeNameMasked' : 'contribute.modeNameVerifiable') }));
    } catch (reason) {
      setChosen(undefined);
      setError(reason instanceof Error ? reason.message : String(reason));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="contribute" role="group" aria-labelledby="contribute-heading">
      <h3 id="contribute-heading">{t('contribute.heading')}</h3>
      {origin && PAIR && (
        <fieldset className="contribute-mode">
          <legend>{t('contribute.modeLegend')}</legend>
          {(['masked', 'verifiable'] as const).map((option) => (
            <label key={option}>
              <input
                type="radio"
                name="contribute-mode"
                value={option}
                checked={mode === option}
                disabled={busy || !contribution}
                onChange={() => void choose(option)}
              />{' '}
              {t(option === 'masked' ? 'contribute.modeMasked' : 'contribute.modeVerifiable')}
            </label>
          ))}
        </fieldset>
      )}
      <p>{pair ? t('contribute.introVerifiable') : t('contribute.intro')}</p>
      <ul>
        <li>{pair ? t('contribute.sentVerifiable', { clip: formatDecimal(contribution?.clipNorm ?? PAIR!.noise.clipNorm, 2) }) : t('contribute.sent')}</li>
        <li>{t('contribute.never')}</li>
        {pair ? (
          <>
            <li>
              {t('contribute.toVerifiable')} <code translate="no">{pair.leader}</code> ({t('contribute.leader')}), <code translate="no">{pair.helper}</code> (
              {t('contribute.helper')})
            </li>
            <li>{t('contribute.trustVerifiable')}</li>
          </>
        ) : (
          <li>
            {t('contribute.to')} <code translate="no">{origin}</code>
          </li>
        )}
        {contribution && (
          <li className="privacy-budget">
            {t('contribute.epsilon', {
              next: formatDecimal(contribution.epsilonNext, 2),
              delta: contribution.delta.toExponential(0),
              sigma: formatDecimal(contribution.noiseMultiplier, 2),
              clip: formatDecimal(contribution.clipNorm, 2),
            })}{' '}
            {t('contribute.joined', { count: contribution.roundsJoined, epsilon: formatDecimal(contribution.epsilon, 2) })}
          </li>
        )}
        {contribution?.epsilonBudget !== undefined && (
          <li className="privacy-budget-lifetime">
            {t('contribute.budget', {
              limit: formatDecimal(contribution.epsilonBudget, 2),
              spent: formatDecimal(contribution.epsilon, 2),
              remaining: formatDecimal(Math.max(0, contribution.epsilonBudget - contribution.epsilon), 2),
            })}{' '}
            {t('contribute.budgetErase')}
          </li>
        )}
      </ul>
      <div className="panel-controls">
        <button type="button" aria-pressed={enabled} onClick={() => void toggle()} disabled={busy || !contribution}>
          {t('contribute.toggle')}
        </button>
        <span>{enabled ? t('contribute.on') : t('contribute.off')}</span>
      </div>
      {budgetSpent && (
        <p className="contribute-budget-spent">
          {t('contribute.budgetSpent', { next: formatDecimal(contribution.epsilonNext, 2), limit: formatDecimal(contribution.epsilonBudget!, 2) })}
        </p>
      )}
      <p role="status" className="contribute-status">
        {contribution && enabled && !budgetSpent ? <StageText contribution={contribution} /> : null}
      </p>
      {contribution?.lastRound && (
        <p>
          {contribution.lastRound.outcome === 'imported'
            ? contribution.lastRound.contributors !== undefined
              ? t('contribute.lastImportedFrom', { round: contribution.lastRound.roundId, contributors: formatNumber(contribution.lastRound.contributors) })
              : t('contribute.lastImported', { round: contribution.lastRound.roundId })
            : t('contribute.lastAbandoned', { round: contribution.lastRound.roundId })}
        </p>
      )}
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
    </div>
  );
}

function StageText({ contribution }: { contribution: ContributionState }) {
  const { t } = useTranslation();
  const round = contribution.roundId ?? '';
  switch (contribution.stage) {
    case 'error':
      return (
        <>
          {t('contribute.stage.error')} <span lang="en">{contribution.message}</span>
        </>
      );
    case 'off':
      return null;
    default:
      return <>{t(`contribute.stage.${contribution.stage}`, { round })}</>;
  }
}
