/**
 * Two connected chat ports over a real Node MessageChannel, standing in for
 * the `runtime.connect` pair between the side panel and the background.
 * As with extension ports, `disconnect()` notifies only the other end.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { ChatPort } from '../../../../lib/extension/chat-port';

/** Returns the panel's end and the background's end of one channel. */
export function createPortPair(): { panel: ChatPort; background: ChatPort } {
  const channel = new MessageChannel();
  return {
    panel: adaptPort(channel.port1),
    background: adaptPort(channel.port2),
  };
}

function adaptPort(port: MessagePort): ChatPort {
  const messageListeners: Array<(message: unknown) => void> = [];
  const disconnectListeners: Array<() => void> = [];
  let closedHere = false;

  port.on('message', (message: unknown) => {
    for (const listener of messageListeners) {
      listener(message);
    }
  });
  port.on('close', () => {
    if (closedHere) {
      return;
    }
    for (const listener of disconnectListeners) {
      listener();
    }
  });

  return {
    postMessage(message) {
      if (closedHere) {
        throw new Error('Attempting to use a disconnected port object');
      }
      port.postMessage(message);
    },
    onMessage: { addListener: (listener) => messageListeners.push(listener) },
    onDisconnect: {
      addListener: (listener) => disconnectListeners.push(listener),
    },
    disconnect() {
      closedHere = true;
      port.close();
    },
  };
}
