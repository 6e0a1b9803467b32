import { defineBackground } from 'wxt/utils/define-background';
import { startBackground } from '@/lib/extension/background-main';
import { questionSimilarity } from '@/lib/extension/question-similarity';

export default defineBackground(() => {
  startBackground({ similarity: questionSimilarity });
});
