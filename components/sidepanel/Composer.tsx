import { useEffect, useState, type FormEvent, type KeyboardEvent } from 'react';
import { REQUEST_LIMITS, type ChatMessage } from '@/lib/protocol';
import type { AskOptions } from '@/lib/extension/chat-store';
import { debugLog } from '@/lib/extension/debug-log';
import { t } from '@/lib/extension/i18n';
import {
  requestActivePage,
  requestQuestionPreview,
} from '@/lib/extension/runtime-client';
import type { QuestionPreview } from '@/lib/extension/runtime-messages';
import { formatTokens } from '../format';
import { ContextFigures } from './AnswerMeta';
import { PageChip, type AttachedPage } from './PageChip';

/** Pause in typing after which the preview is asked for, in milliseconds. */
const PREVIEW_DELAY_MS = 300;

interface ComposerProps {
  history: ChatMessage[];
  streaming: boolean;
  /** Text to put in the box, such as a selection from the context menu. */
  incomingDraft?: { text: string; id: number };
  onSend: (question: string, options: AskOptions) => void;
  onStop: () => void;
}

/**
 * Renders the question box with its send and stop buttons, the premium
 * toggle, "Ask about this page", and a preview of the tier and token
 * estimate the background computes while the user types. Enter sends;
 * Shift+Enter starts a new line.
 */
export function Composer({
  history,
  streaming,
  incomingDraft,
  onSend,
  onStop,
}: ComposerProps) {
  const [draft, setDraft] = useState('');
  const [preview, setPreview] = useState<QuestionPreview | undefined>();
  const [premium, setPremium] = useState(false);
  const [page, setPage] = useState<AttachedPage | undefined>();
  const [pageProblem, setPageProblem] = useState<string | undefined>();
  const [readingPage, setReadingPage] = useState(false);
  const trimmed = draft.trim();
  const tooLong = trimmed.length > REQUEST_LIMITS.questionChars;

  // A new incoming draft replaces the text, once, during render.
  const [incomingId, setIncomingId] = useState<number | undefined>();
  if (incomingDraft && incomingDraft.id !== incomingId) {
    setIncomingId(incomingDraft.id);
    setDraft(incomingDraft.text);
  }

  useEffect(() => {
    if (trimmed === '' || tooLong) {
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      requestQuestionPreview(trimmed, history, {
        pageContext: page
          ? { title: page.title, url: page.url, text: page.text }
          : undefined,
        tier: premium ? 'premium' : 'auto',
      })
        .then((result) => current && setPreview(result))
        .catch((error: unknown) =>
          debugLog('composer', 'preview failed', { error: String(error) }),
        );
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [trimmed, tooLong, history, page, premium]);

  const send = (event?: FormEvent) => {
    event?.preventDefault();
    if (trimmed === '' || tooLong || streaming) {
      return;
    }
    onSend(trimmed, {
      tier: premium ? 'premium' : undefined,
      page: page
        ? {
            title: page.title,
            url: page.url,
            text: page.text,
            tokens: page.tokens,
          }
        : undefined,
    });
    setDraft('');
    setPreview(undefined);
    setPremium(false);
    setPage(undefined);
  };

  const attachPage = () => {
    setReadingPage(true);
    setPageProblem(undefined);
    requestActivePage()
      .then((result) => {
        if (result.type === 'page-read') {
          setPage(result);
        } else {
          setPageProblem(result.message);
        }
      })
      .catch((error: unknown) =>
        setPageProblem(t('pageReadFailed', String(error))),
      )
      .finally(() => setReadingPage(false));
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
      {page && <PageChip page={page} onRemove={() => setPage(undefined)} />}
      {pageProblem && (
        <p
          className="composer__problem"
          role="alert"
          data-testid="page-problem"
        >
          {pageProblem}
        </p>
      )}
      <textarea
        className="composer__input"
        data-testid="question-input"
        aria-label={t('questionLabel')}
        placeholder={
          page ? t('questionPlaceholderPage') : t('questionPlaceholder')
        }
        rows={3}
        value={draft}
        autoFocus
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={handleKeyDown}
      />
      <p className="composer__preview" data-testid="question-preview">
        {describeDraft(trimmed, preview, premium)}
      </p>
      {trimmed !== '' && !tooLong && preview?.context && (
        <ContextFigures
          report={preview.context}
          estimate
          testId="context-preview"
        />
      )}
      <div className="composer__row">
        <label className="composer__toggle">
          <input
            type="checkbox"
            data-testid="premium-toggle"
            checked={premium}
            onChange={(event) => setPremium(event.target.checked)}
          />{' '}
          {t('premiumToggle')}
        </label>
        <button
          type="button"
          data-testid="ask-about-page"
          disabled={readingPage}
          onClick={attachPage}
        >
          {readingPage ? t('readingPage') : t('askAboutPage')}
        </button>
        {streaming ? (
          <button type="button" data-testid="stop" onClick={onStop}>
            {t('stop')}
          </button>
        ) : (
          <button
            type="submit"
            className="primary"
            data-testid="send"
            disabled={trimmed === '' || tooLong}
          >
            {t('send')}
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
  premium: boolean,
): string {
  if (draft.length > REQUEST_LIMITS.questionChars) {
    return t(
      'questionTooLong',
      formatTokens(draft.length),
      formatTokens(REQUEST_LIMITS.questionChars),
    );
  }
  if (draft !== '' && preview) {
    const tokens = formatTokens(preview.inputTokens);
    if (premium) {
      return t('previewPremium', tokens);
    }
    return t(
      'previewRoute',
      tokens,
      preview.tier === 'premium' ? t('tierPremium') : t('tierCheap'),
      preview.reasons.join('; '),
    );
  }
  return t('composerHint');
}
