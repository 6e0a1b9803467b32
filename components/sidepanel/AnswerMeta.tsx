import type { MessageRecord } from '@/lib/extension/database';
import { formatTokens } from '../format';

/**
 * Renders the line under an answer: model, tier, tokens in and out, what it cost
 * of the allowance or "from cache, free", and why the router chose the tier.
 */
export function AnswerMeta({ message }: { message: MessageRecord }) {
  const answer = message.answer;
  if (!answer) {
    // Kept in the page, hidden and empty, so scripts that read the meta of
    // an answer that failed before its route find the element.
    return (
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
        <span className={`tier tier--${answer.tier}`}>{answer.tier}</span>
        {answer.inputTokens !== undefined && (
          <span>{formatTokens(answer.inputTokens)} in</span>
        )}
        {hasUsage && (
          <span>
            {formatTokens(answer.outputTokens ?? 0)} out
            {answer.estimated ? ' (estimated)' : ''}
          </span>
        )}
        {answer.fromCache && (
          <span className="badge badge--free">from cache, free</span>
        )}
        {!answer.fromCache && answer.charged !== undefined && (
          <span>charged {formatTokens(answer.charged)} tokens</span>
        )}
        {!answer.fromCache &&
          answer.charged === undefined &&
          message.status !== 'streaming' && (
            <span>the tokens delivered count against the allowance</span>
          )}
      </p>
      {answer.reasons.length > 0 && (
        <p className="answer__reasons" data-testid="answer-reasons">
          Routed to the {answer.tier} model: {answer.reasons.join('; ')}.
        </p>
      )}
    </footer>
  );
}
