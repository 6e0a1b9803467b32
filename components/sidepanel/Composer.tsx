import { useEffect, useState, type FormEvent, type KeyboardEvent } from 'react';
import { REQUEST_LIMITS, type ChatMessage } from '@/lib/protocol';
import { debugLog } from '@/lib/extension/debug-log';
import { requestQuestionPreview } from '@/lib/extension/runtime-client';
import type { QuestionPreview } from '@/lib/extension/runtime-messages';
import { formatTokens } from '../format';

/** Pause in typing after which the preview is asked for, in milliseconds. */
const PREVIEW_DELAY_MS = 300;

interface ComposerProps {
  history: ChatMessage[];
  streaming: boolean;
  onSend: (question: string) => void;
  onStop: () => void;
}

/**
 * Renders the question box with its send and stop buttons, and a preview of the
 * tier and token estimate the background computes while the user types.
 * Enter sends; Shift+Enter starts a new line.
 */
export function Composer({
  history,
  streaming,
  onSend,
  onStop,
}: ComposerProps) {
  const [draft, setDraft] = useState('');
  const [preview, setPreview] = useState<QuestionPreview | undefined>();
  const trimmed = draft.trim();
  const tooLong = trimmed.length > REQUEST_LIMITS.questionChars;

  useEffect(() => {
    if (trimmed === '' || tooLong) {
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      requestQuestionPreview(trimmed, history)
        .then((result) => current && setPreview(result))
        .catch((error: unknown) =>
          debugLog('composer', 'preview failed', { error: String(error) }),
        );
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [trimmed, tooLong, history]);

  const send = (event?: FormEvent) => {
    event?.preventDefault();
    if (trimmed === '' || tooLong || streaming) {
      return;
    }
    onSend(trimmed);
    setDraft('');
    setPreview(undefined);
  };

  const handleKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (
      event.key === 'Enter' &&
      !event.shiftKey &&
      !event.nativeEvent.isComposing
    ) {
      send(event);
    }
  };

  return (
    <form className="composer" onSubmit={send}>
      <textarea
        className="composer__input"
        data-testid="question-input"
        aria-label="Your question"
        placeholder="Ask a question"
        rows={3}
        value={draft}
        autoFocus
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={handleKeyDown}
      />
      <div className="composer__row">
        <p className="composer__preview" data-testid="question-preview">
          {describeDraft(trimmed, preview)}
        </p>
        {streaming ? (
          <button type="button" data-testid="stop" onClick={onStop}>
            Stop
          </button>
        ) : (
          <button
            type="submit"
            className="primary"
            data-testid="send"
            disabled={trimmed === '' || tooLong}
          >
            Send
          </button>
        )}
      </div>
    </form>
  );
}

/** Returns the line under the question box for the current draft. */
function describeDraft(
  draft: string,
  preview: QuestionPreview | undefined,
): string {
  if (draft.length > REQUEST_LIMITS.questionChars) {
    return `Too long: ${formatTokens(draft.length)} characters, and the limit is ${formatTokens(REQUEST_LIMITS.questionChars)}. Shorten the question.`;
  }
  if (draft !== '' && preview) {
    return `About ${formatTokens(preview.inputTokens)} tokens in, likely the ${preview.tier} model: ${preview.reasons.join('; ')}.`;
  }
  return 'Enter sends, Shift+Enter adds a line.';
}
