import { useEffect, useMemo, useRef, useState } from 'react';
import { useStore } from 'zustand';
import { browser } from 'wxt/browser';
import { isStreaming, type ChatStore } from '@/lib/extension/chat-store';
import { buildRequestHistory } from '@/lib/extension/conversation-history';
import { debugLog } from '@/lib/extension/debug-log';
import { t } from '@/lib/extension/i18n';
import {
  draftQuestionAbout,
  takePendingSelection,
} from '@/lib/extension/selection-menu';
import { PENDING_SELECTION_STORAGE_KEY } from '@/lib/extension/storage-keys';
import { Composer } from './Composer';
import { ConversationList } from './ConversationList';
import { MessageView } from './MessageView';
import { PlanNotice } from './PlanNotice';
import './chat-panel.css';
import './markdown.css';

/** Renders the side panel: the conversations, the messages, then the question box. */
export function ChatPanel({ store }: { store: ChatStore }) {
  const phase = useStore(store, (state) => state.phase);
  const messages = useStore(store, (state) => state.messages);
  const conversations = useStore(store, (state) => state.conversations);
  const conversationId = useStore(store, (state) => state.conversationId);
  const notice = useStore(store, (state) => state.notice);
  const streaming = messages.some(isStreaming);
  const history = useMemo(() => buildRequestHistory(messages), [messages]);
  const listRef = useRef<HTMLDivElement>(null);
  const [showList, setShowList] = useState(false);
  const incomingDraft = usePendingSelection();

  useEffect(() => {
    store
      .getState()
      .load()
      .catch((error: unknown) =>
        store.setState({
          phase: 'ready',
          notice: t('conversationReadFailed', String(error)),
        }),
      );
  }, [store]);

  const lastText = messages.at(-1)?.text;
  const lastStatus = messages.at(-1)?.status;
  useEffect(() => {
    const list = listRef.current;
    if (list) {
      list.scrollTop = list.scrollHeight;
    }
  }, [messages.length, lastText, lastStatus]);

  const actions = store.getState();
  return (
    <div className="chat">
      <header className="chat__header">
        <h1>{t('extensionName')}</h1>
        <div className="chat__header-actions">
          <button
            type="button"
            data-testid="toggle-conversations"
            aria-expanded={showList}
            aria-controls="conversation-panel"
            onClick={() => setShowList(!showList)}
          >
            {t('conversationsButton', conversations.length)}
          </button>
          <button
            type="button"
            data-testid="new-conversation"
            disabled={messages.length === 0}
            onClick={() => {
              setShowList(false);
              void actions.startConversation();
            }}
          >
            {t('newChat')}
          </button>
        </div>
      </header>

      {showList && (
        <nav id="conversation-panel" className="chat__conversations">
          <ConversationList
            conversations={conversations}
            currentId={conversationId}
            onSwitch={(id) => {
              setShowList(false);
              void actions.switchConversation(id);
            }}
            onRename={(id, title) => void actions.renameConversation(id, title)}
            onDelete={(id) => void actions.deleteConversation(id)}
          />
        </nav>
      )}

      <div
        className="chat__messages"
        ref={listRef}
        aria-live="polite"
        tabIndex={0}
        aria-label={t('messagesLabel')}
      >
        {phase === 'ready' && messages.length === 0 && (
          <p className="chat__empty">{t('emptyChat')}</p>
        )}
        {messages.map((message) => (
          <MessageView
            key={message.id}
            message={message}
            busy={streaming}
            onRetryPremium={(id) => void actions.retryWithPremium(id)}
            onUseOffer={(id) => void actions.useOffer(id)}
            onAskAnyway={(id) => void actions.askAnyway(id)}
          />
        ))}
      </div>

      {notice && (
        <p className="chat__notice" role="alert">
          {notice}
        </p>
      )}
      <PlanNotice />
      <Composer
        history={history}
        streaming={streaming}
        incomingDraft={incomingDraft}
        onSend={(question, options) => void actions.ask(question, options)}
        onStop={() => actions.stop()}
      />
    </div>
  );
}

/**
 * Follows the text the context menu hands over, as a draft for the
 * composer: the one waiting when the panel opens and any that comes later.
 */
function usePendingSelection(): { text: string; id: number } | undefined {
  const [draft, setDraft] = useState<{ text: string; id: number }>();

  useEffect(() => {
    let active = true;
    const take = () => {
      takePendingSelection()
        .then((selection) => {
          if (active && selection) {
            setDraft({
              text: draftQuestionAbout(selection),
              id: selection.createdAt,
            });
          }
        })
        .catch((error: unknown) =>
          debugLog('panel', 'reading the selection failed', {
            error: String(error),
          }),
        );
    };
    const listener = (
      changes: Record<string, { newValue?: unknown }>,
      areaName: string,
    ) => {
      if (
        areaName === 'local' &&
        changes[PENDING_SELECTION_STORAGE_KEY]?.newValue !== undefined
      ) {
        take();
      }
    };
    take();
    browser.storage.onChanged.addListener(listener);
    return () => {
      active = false;
      browser.storage.onChanged.removeListener(listener);
    };
  }, []);

  return draft;
}
