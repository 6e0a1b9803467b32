import { ChatPanel } from '@/components/sidepanel/ChatPanel';
import { createChatStore } from '@/lib/extension/chat-store';
import { BACKEND_URL } from '@/lib/extension/config';
import { getDatabase } from '@/lib/extension/database';
import { connectChatPort } from '@/lib/extension/runtime-client';

const chatStore = createChatStore({
  database: getDatabase(),
  connect: connectChatPort,
  backendUrl: BACKEND_URL,
});

export function App() {
  return <ChatPanel store={chatStore} />;
}
