/** Exporting every saved conversation as JSON or Markdown, for the options page. */
import { Dexie } from 'dexie';
import type {
  ConversationRecord,
  MessageRecord,
  TokenwiseDatabase,
} from './database';

/** One conversation with its messages, oldest first. */
export interface ExportedConversation {
  id: string;
  title: string;
  /** ISO times. */
  createdAt: string;
  updatedAt: string;
  messages: Array<{
    role: 'user' | 'assistant';
    text: string;
    createdAt: string;
    status?: string;
    tier?: string;
    model?: string;
    fromCache?: boolean;
    inputTokens?: number;
    outputTokens?: number;
    charged?: number;
    page?: { title: string; url: string };
  }>;
}

/** Reads all conversations, most recently updated first, with their messages. */
export async function collectConversations(
  database: TokenwiseDatabase,
): Promise<ExportedConversation[]> {
  const conversations = await database.conversations
    .orderBy('updatedAt')
    .reverse()
    .toArray();
  const exported: ExportedConversation[] = [];
  for (const conversation of conversations) {
    const messages = await database.messages
      .where('[conversationId+position]')
      .between([conversation.id, Dexie.minKey], [conversation.id, Dexie.maxKey])
      .toArray();
    exported.push(toExported(conversation, messages));
  }
  return exported;
}

/** Formats conversations as pretty-printed JSON with a format version. */
export function formatConversationsJson(
  conversations: readonly ExportedConversation[],
  exportedAt: Date,
): string {
  return JSON.stringify(
    {
      format: 'tokenwise-conversations',
      version: 1,
      exportedAt: exportedAt.toISOString(),
      conversations,
    },
    null,
    2,
  );
}

/** Formats conversations as one Markdown document, a section each. */
export function formatConversationsMarkdown(
  conversations: readonly ExportedConversation[],
): string {
  const sections = conversations.map((conversation) => {
    const lines = [`## ${escapeHeading(conversation.title)}`, ''];
    lines.push(`_${conversation.createdAt}_`, '');
    for (const message of conversation.messages) {
      if (message.role === 'user') {
        lines.push('**You:**', '');
        if (message.page) {
          lines.push(
            `> About [${message.page.title}](${message.page.url})`,
            '',
          );
        }
      } else {
        const details = [message.model, message.tier]
          .filter(Boolean)
          .join(', ');
        lines.push(`**Tokenwise${details ? ` (${details})` : ''}:**`, '');
      }
      lines.push(message.text, '');
    }
    return lines.join('\n');
  });
  return (
    [`# Tokenwise conversations`, '', ...sections].join('\n').trimEnd() + '\n'
  );
}

function toExported(
  conversation: ConversationRecord,
  messages: readonly MessageRecord[],
): ExportedConversation {
  return {
    id: conversation.id,
    title: conversation.title,
    createdAt: new Date(conversation.createdAt).toISOString(),
    updatedAt: new Date(conversation.updatedAt).toISOString(),
    messages: messages.map((message) => ({
      role: message.role,
      text: message.text,
      createdAt: new Date(message.createdAt).toISOString(),
      status: message.status,
      tier: message.answer?.tier,
      model: message.answer?.model,
      fromCache: message.answer?.fromCache,
      inputTokens: message.answer?.inputTokens,
      outputTokens: message.answer?.outputTokens,
      charged: message.answer?.charged,
      page: message.page
        ? { title: message.page.title, url: message.page.url }
        : undefined,
    })),
  };
}

function escapeHeading(title: string): string {
  return title.replace(/[\r\n]+/g, ' ').replace(/^#+/, '');
}
