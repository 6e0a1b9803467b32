import { defineUnlistedScript } from 'wxt/utils/define-unlisted-script';
import { readCurrentPage } from '@/lib/extension/read-page';

// Injected on request only; its result is returned to executeScript.
export default defineUnlistedScript(() => readCurrentPage());
