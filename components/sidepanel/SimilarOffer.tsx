import type { MessageRecord } from '@/lib/extension/database';
import { t } from '@/lib/extension/i18n';

interface SimilarOfferProps {
  offer: NonNullable<MessageRecord['offer']>;
  disabled: boolean;
  onUse: () => void;
  onAskAnyway: () => void;
}

/**
 * Renders the offer of an earlier answer to a similar question: the user
 * takes it for free or asks the model anyway. Nothing is answered until
 * they choose.
 */
export function SimilarOffer({
  offer,
  disabled,
  onUse,
  onAskAnyway,
}: SimilarOfferProps) {
  return (
    <div className="offer" data-testid="similar-offer">
      <p className="offer__title">{t('similarOfferTitle')}</p>
      <blockquote className="offer__question" data-testid="similar-question">
        {offer.question}
      </blockquote>
      <p className="offer__hint">{t('similarOfferHint')}</p>
      <div className="offer__actions">
        <button
          type="button"
          className="primary"
          data-testid="use-similar"
          disabled={disabled}
          onClick={onUse}
        >
          {t('similarOfferUse')}
        </button>
        <button
          type="button"
          data-testid="ask-anyway"
          disabled={disabled}
          onClick={onAskAnyway}
        >
          {t('similarOfferAskAnyway')}
        </button>
      </div>
    </div>
  );
}
