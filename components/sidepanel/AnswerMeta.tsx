import type { MessageRecord } from '@/lib/extension/database';
import { t } from '@/lib/extension/i18n';
import type { ContextReport } from '@/lib/protocol';
import { formatTokens } from '../format';

interface AnswerMetaProps {
  message: MessageRecord;
  /** Whether "Retry with premium" can run now. */
  canRetry: boolean;
  onRetryPremium: () => void;
}

/**
 * Renders the line under an answer: model, tier, tokens in and out, what it cost
 * of the allowance or "from cache, free", what context went with the
 * question, why the router chose the tier, and "Retry with premium" for an
 * answer that did not come from premium.
 */
export function AnswerMeta({
  message,
  canRetry,
  onRetryPremium,
}: AnswerMetaProps) {
  const answer = message.answer;
  const retry = canRetry && answer?.tier !== 'premium' && (
    <button
      type="button"
      className="link-button"
      data-testid="retry-premium"
      onClick={onRetryPremium}
    >
      {t('retryWithPremium')}
    </button>
  );
  if (!answer) {
    // Kept in the page, hidden and empty, so scripts that read the meta of
    // an answer that failed before its route find the element.
    return (
      <>
        <footer
          hidden
          data-testid="answer-meta"
          data-tier=""
          data-model=""
          data-from-cache="false"
          data-input-tokens=""
          data-output-tokens=""
          data-charged=""
        />
        {message.status === 'error' && retry}
      </>
    );
  }
  const hasUsage = answer.outputTokens !== undefined;

  return (
    <footer
      className="answer__meta"
      data-testid="answer-meta"
      data-tier={answer.tier}
      data-model={answer.model}
      data-from-cache={String(answer.fromCache)}
      data-input-tokens={answer.inputTokens ?? ''}
      data-output-tokens={answer.outputTokens ?? ''}
      data-charged={answer.fromCache ? 0 : (answer.charged ?? '')}
    >
      <p className="answer__figures">
        <span className="answer__model">{answer.model}</span>
        <span className={`tier tier--${answer.tier}`}>
          {answer.tier === 'premium' ? t('tierPremium') : t('tierCheap')}
        </span>
        {answer.inputTokens !== undefined && (
          <span>{t('tokensIn', formatTokens(answer.inputTokens))}</span>
        )}
        {hasUsage && (
          <span>
            {t('tokensOut', formatTokens(answer.outputTokens ?? 0))}
            {answer.estimated ? ` ${t('estimatedSuffix')}` : ''}
          </span>
        )}
        {answer.fromCache && (
          <span className="badge badge--free">{t('fromCacheFree')}</span>
        )}
        {!answer.fromCache && answer.charged !== undefined && (
          <span>{t('chargedTokens', formatTokens(answer.charged))}</span>
        )}
        {!answer.fromCache &&
          answer.charged === undefined &&
          message.status !== 'streaming' && (
            <span>{t('deliveredTokensCount')}</span>
          )}
      </p>
      {answer.context && !answer.fromCache && (
        <ContextFigures
          report={answer.context}
          estimate={false}
          testId="answer-context"
        />
      )}
      {answer.reasons.length > 0 && (
        <p className="answer__reasons" data-testid="answer-reasons">
          {answer.fromCache
            ? t(
                'routedReasonsCached',
                tierName(answer.tier),
                joinReasons(answer.reasons),
              )
            : t(
                'routedReasons',
                tierName(answer.tier),
                joinReasons(answer.reasons),
              )}
        </p>
      )}
      {message.requestedTier === 'premium' && (
        <p className="answer__reasons">{t('premiumRequested')}</p>
      )}
      {retry}
    </footer>
  );
}

/**
 * Renders what went with a question besides it and what was left out:
 * context tokens of the budget, summarized or dropped turns, and the
 * page's passages. The composer shows the same line as an estimate.
 */
export function ContextFigures({
  report,
  estimate,
  testId,
}: {
  report: ContextReport;
  estimate: boolean;
  testId: string;
}) {
  return (
    <p
      className={estimate ? 'composer__preview' : 'answer__reasons'}
      data-testid={testId}
      data-sent-tokens={report.sentTokens}
      data-budget-tokens={report.budgetTokens}
      data-summarized-turns={report.summarizedTurns}
      data-dropped-turns={report.droppedTurns}
      data-sent-passages={report.page?.sentPassages ?? ''}
      data-total-passages={report.page?.totalPassages ?? ''}
    >
      {describeContext(report, estimate).join(' · ')}
    </p>
  );
}

/** Returns the parts of the context line, in the order they are shown. */
function describeContext(report: ContextReport, estimate: boolean): string[] {
  const sent = formatTokens(report.sentTokens);
  const budget = formatTokens(report.budgetTokens);
  const parts = [
    estimate
      ? t('contextSentEstimate', sent, budget)
      : t('contextSent', sent, budget),
  ];
  if (report.summarizedTurns === 1) {
    parts.push(t('contextSummarizedOne'));
  } else if (report.summarizedTurns > 1) {
    parts.push(t('contextSummarizedMany', report.summarizedTurns));
  }
  if (report.summary?.status === 'written' && report.summary.charged > 0) {
    parts.push(
      t('contextSummaryCharged', formatTokens(report.summary.charged)),
    );
  }
  if (report.droppedTurns === 1) {
    parts.push(t('contextDroppedOne'));
  } else if (report.droppedTurns > 1) {
    parts.push(t('contextDroppedMany', report.droppedTurns));
  }
  const page = report.page;
  if (page && page.sentPassages === 0) {
    parts.push(t('contextPageLeftOut'));
  } else if (page && page.omittedChars === 0) {
    parts.push(t('contextPageWhole'));
  } else if (page) {
    const leftOut = Math.round((page.omittedChars / page.totalChars) * 100);
    parts.push(
      t('contextPage', page.sentPassages, page.totalPassages, leftOut),
    );
  }
  return parts;
}

function tierName(tier: 'cheap' | 'premium'): string {
  return tier === 'premium' ? t('tierPremium') : t('tierCheap');
}

function joinReasons(reasons: readonly string[]): string {
  return reasons.join('; ');
}
