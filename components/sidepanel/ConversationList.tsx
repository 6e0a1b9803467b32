import { useState, type KeyboardEvent } from 'react';
import type { ConversationRecord } from '@/lib/extension/database';
import { t } from '@/lib/extension/i18n';

interface ConversationListProps {
  conversations: ConversationRecord[];
  currentId: string | undefined;
  onSwitch: (conversationId: string) => void;
  onRename: (conversationId: string, title: string) => void;
  onDelete: (conversationId: string) => void;
}

/** Lists the saved conversations with switch, rename and delete. */
export function ConversationList({
  conversations,
  currentId,
  onSwitch,
  onRename,
  onDelete,
}: ConversationListProps) {
  const [editingId, setEditingId] = useState<string | undefined>();
  const [title, setTitle] = useState('');

  if (conversations.length === 0) {
    return (
      <p className="conversations__empty" data-testid="conversations-empty">
        {t('noConversations')}
      </p>
    );
  }

  const finishRename = (conversationId: string) => {
    onRename(conversationId, title);
    setEditingId(undefined);
  };
  const handleKeyDown = (
    event: KeyboardEvent<HTMLInputElement>,
    conversationId: string,
  ) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      finishRename(conversationId);
    } else if (event.key === 'Escape') {
      setEditingId(undefined);
    }
  };

  return (
    <ul
      className="conversations"
      data-testid="conversation-list"
      aria-label={t('conversationsLabel')}
    >
      {conversations.map((conversation) => (
        <li
          key={conversation.id}
          className="conversations__item"
          data-testid="conversation"
          data-current={String(conversation.id === currentId)}
        >
          {editingId === conversation.id ? (
            <input
              className="conversations__rename"
              data-testid="conversation-title-input"
              aria-label={t('renameLabel')}
              value={title}
              autoFocus
              onChange={(event) => setTitle(event.target.value)}
              onKeyDown={(event) => handleKeyDown(event, conversation.id)}
              onBlur={() => finishRename(conversation.id)}
            />
          ) : (
            <button
              type="button"
              className="conversations__open"
              data-testid="open-conversation"
              aria-current={conversation.id === currentId ? 'true' : undefined}
              onClick={() => onSwitch(conversation.id)}
            >
              {conversation.title}
            </button>
          )}
          <button
            type="button"
            className="link-button"
            data-testid="rename-conversation"
            aria-label={t('renameConversationLabel', conversation.title)}
            onClick={() => {
              setTitle(conversation.title);
              setEditingId(conversation.id);
            }}
          >
            {t('rename')}
          </button>
          <button
            type="button"
            className="link-button link-button--danger"
            data-testid="delete-conversation"
            aria-label={t('deleteConversationLabel', conversation.title)}
            onClick={() => onDelete(conversation.id)}
          >
            {t('delete')}
          </button>
        </li>
      ))}
    </ul>
  );
}
