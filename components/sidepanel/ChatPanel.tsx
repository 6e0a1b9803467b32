import { useEffect, useMemo, useRef } from 'react';
import { useStore } from 'zustand';
import { isStreaming, type ChatStore } from '@/lib/extension/chat-store';
import { buildRequestHistory } from '@/lib/extension/conversation-history';
import { Composer } from './Composer';
import { MessageView } from './MessageView';
import './chat-panel.css';

/** Renders the side panel: the conversation, then the question box. */
export function ChatPanel({ store }: { store: ChatStore }) {
  const phase = useStore(store, (state) => state.phase);
  const messages = useStore(store, (state) => state.messages);
  const notice = useStore(store, (state) => state.notice);
  const streaming = messages.some(isStreaming);
  const history = useMemo(() => buildRequestHistory(messages), [messages]);
  const listRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    store
      .getState()
      .load()
      .catch((error: unknown) =>
        store.setState({
          phase: 'ready',
          notice: `The saved conversation could not be read (${String(error)}). Start a new chat.`,
        }),
      );
  }, [store]);

  const lastText = messages.at(-1)?.text;
  useEffect(() => {
    const list = listRef.current;
    if (list) {
      list.scrollTop = list.scrollHeight;
    }
  }, [messages.length, lastText]);

  return (
    <div className="chat">
      <header className="chat__header">
        <h1>Tokenwise</h1>
        <button
          type="button"
          data-testid="new-conversation"
          disabled={messages.length === 0}
          onClick={() => void store.getState().startConversation()}
        >
          New chat
        </button>
      </header>

      <div className="chat__messages" ref={listRef} aria-live="polite">
        {phase === 'ready' && messages.length === 0 && (
          <p className="chat__empty">
            Ask anything. Easy questions go to a fast, low-cost model and hard
            ones to a stronger model. A question you have asked before is
            answered from this browser's cache for free.
          </p>
        )}
        {messages.map((message) => (
          <MessageView key={message.id} message={message} />
        ))}
      </div>

      {notice && (
        <p className="chat__notice" role="alert">
          {notice}
        </p>
      )}
      <Composer
        history={history}
        streaming={streaming}
        onSend={(question) => void store.getState().ask(question)}
        onStop={() => store.getState().stop()}
      />
    </div>
  );
}
