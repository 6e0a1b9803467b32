import { OptionsPage } from '@/components/options/OptionsPage';
import { getDatabase } from '@/lib/extension/database';

export function App() {
  return <OptionsPage database={getDatabase()} />;
}
