import { defineBackground } from 'wxt/utils/define-background';
import { startBackground } from '@/lib/extension/background-main';

export default defineBackground(() => {
  startBackground();
});
