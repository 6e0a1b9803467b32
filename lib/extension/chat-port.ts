/**
 * The part of `runtime.Port` that the chat uses, so the background's port
 * handler and the panel's store also run over other message channels.
 */
export interface ChatPort {
  postMessage(message: unknown): void;
  onMessage: { addListener(listener: (message: unknown) => void): void };
  onDisconnect: { addListener(listener: () => void): void };
  disconnect(): void;
}
