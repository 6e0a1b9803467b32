import { UPGRADE_URL } from '@/lib/extension/config';
import type { MessageRecord } from '@/lib/extension/database';
import { formatResetTime } from '@/lib/extension/error-messages';
import { t } from '@/lib/extension/i18n';
import { formatTokens } from '../format';
import { AnswerMarkdown } from './AnswerMarkdown';
import { AnswerMeta } from './AnswerMeta';
import { SimilarOffer } from './SimilarOffer';

export interface MessageActions {
  onRetryPremium: (answerId: string) => void;
  onUseOffer: (answerId: string) => void;
  onAskAnyway: (answerId: string) => void;
}

interface MessageViewProps extends MessageActions {
  message: MessageRecord;
  /** True while any answer streams; the answer's buttons wait for it. */
  busy: boolean;
}

/** Renders one question or answer of the conversation. */
export function MessageView({ message, busy, ...actions }: MessageViewProps) {
  if (message.role === 'user') {
    return (
      <div className="message message--question" data-testid="question">
        {message.page && (
          <p className="question__page" data-testid="question-page">
            {t('questionAboutPage', message.page.title)} ·{' '}
            {t('tokensCount', formatTokens(message.page.tokens))}
          </p>
        )}
        {message.text}
      </div>
    );
  }

  const status = message.status ?? 'done';
  return (
    <article
      className={`message message--answer answer--${status}`}
      data-testid="answer"
      data-status={status}
      aria-busy={status === 'streaming'}
    >
      {status === 'offered' && message.offer ? (
        <SimilarOffer
          offer={message.offer}
          disabled={busy}
          onUse={() => actions.onUseOffer(message.id)}
          onAskAnyway={() => actions.onAskAnyway(message.id)}
        />
      ) : (
        <div className="answer__text" data-testid="answer-text">
          <AnswerMarkdown text={message.text} />
        </div>
      )}
      {status === 'streaming' && message.text === '' && (
        <p className="answer__pending">{t('thinking')}</p>
      )}
      {status === 'stopped' && (
        <p className="answer__note">{t('stoppedBeforeEnd')}</p>
      )}
      {status === 'error' && message.error && (
        <AnswerError error={message.error} partial={message.text !== ''} />
      )}
      <AnswerMeta
        message={message}
        canRetry={
          !busy &&
          status !== 'streaming' &&
          status !== 'offered' &&
          // Premium costs more of an allowance that is already gone.
          message.error?.code !== 'allowance_exhausted'
        }
        onRetryPremium={() => actions.onRetryPremium(message.id)}
      />
    </article>
  );
}

function AnswerError({
  error,
  partial,
}: {
  error: NonNullable<MessageRecord['error']>;
  partial: boolean;
}) {
  if (error.code === 'allowance_exhausted') {
    const resetTime = formatResetTime(error.resetAt);
    return (
      <div
        className="answer__error answer__error--allowance"
        role="alert"
        data-testid="answer-error"
        data-code={error.code}
      >
        <p>
          {resetTime
            ? t('allowanceGoneResets', resetTime)
            : t('allowanceGoneNextPeriod')}
        </p>
        {UPGRADE_URL ? (
          <p>
            <a
              className="button primary"
              href={UPGRADE_URL}
              target="_blank"
              rel="noopener noreferrer"
              data-testid="upgrade"
            >
              {t('upgradeForMore')}
            </a>
          </p>
        ) : (
          <p>{t('allowanceGoneWait')}</p>
        )}
      </div>
    );
  }
  return (
    <p
      className="answer__error"
      role="alert"
      data-testid="answer-error"
      data-code={error.code}
    >
      {error.message}
      {partial ? ` ${t('partialAnswerKept')}` : ''}
    </p>
  );
}
