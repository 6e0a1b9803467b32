import type { MessageRecord } from '@/lib/extension/database';
import { AnswerMeta } from './AnswerMeta';

/** Renders one question or answer of the conversation. */
export function MessageView({ message }: { message: MessageRecord }) {
  if (message.role === 'user') {
    return (
      <div className="message message--question" data-testid="question">
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
      <div className="answer__text" data-testid="answer-text">
        {message.text}
      </div>
      {status === 'streaming' && message.text === '' && (
        <p className="answer__pending">Thinking…</p>
      )}
      {status === 'stopped' && (
        <p className="answer__note">Stopped before the end.</p>
      )}
      {status === 'error' && message.error && (
        <p className="answer__error" role="alert" data-testid="answer-error">
          {message.error.message}
        </p>
      )}
      <AnswerMeta message={message} />
    </article>
  );
}
