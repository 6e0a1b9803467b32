import { t } from '@/lib/extension/i18n';
import { formatTokens } from '../format';

/** A page attached to the next question, as the background prepared it. */
export interface AttachedPage {
  title: string;
  url: string;
  text: string;
  tokens: number;
  originalTokens: number;
  trimmed: boolean;
}

/**
 * Shows the attached page and its token count before the question is
 * sent, and that only the passages matching the question go with it.
 */
export function PageChip({
  page,
  onRemove,
}: {
  page: AttachedPage;
  onRemove: () => void;
}) {
  return (
    <div
      className="page-chip"
      data-testid="page-chip"
      data-tokens={page.tokens}
      data-trimmed={String(page.trimmed)}
    >
      <span className="page-chip__title">{page.title}</span>
      <span
        className="page-chip__tokens"
        data-testid="page-tokens"
        title={t('pagePassagesHint')}
      >
        {page.trimmed
          ? t(
              'pageTokensTrimmed',
              formatTokens(page.tokens),
              formatTokens(page.originalTokens),
            )
          : t('pageTokens', formatTokens(page.tokens))}
      </span>
      <button
        type="button"
        className="link-button"
        data-testid="remove-page"
        aria-label={t('removePageLabel', page.title)}
        onClick={onRemove}
      >
        {t('removePage')}
      </button>
    </div>
  );
}
