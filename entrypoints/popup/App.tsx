import { UsageHud } from '@/components/popup/UsageHud';
import { requestUsageRefresh } from '@/lib/extension/runtime-client';
import { createUsageStore } from '@/lib/extension/usage-store';

const usageStore = createUsageStore({ refresh: requestUsageRefresh });

export function App() {
  return <UsageHud store={usageStore} />;
}
