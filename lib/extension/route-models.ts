/**
 * The model the backend last named for each tier, kept in `storage.local`
 * so cache lookups can include the model before the backend is asked.
 */
import { browser } from 'wxt/browser';
import { z } from 'zod';
import type { Tier } from '../protocol';
import { ROUTE_MODELS_STORAGE_KEY } from './storage-keys';

const routeModelsSchema = z.object({
  cheap: z.string().optional(),
  premium: z.string().optional(),
});
export type RouteModels = z.infer<typeof routeModelsSchema>;

/** Returns the models last seen by tier; empty when none were seen. */
export async function readRouteModels(): Promise<RouteModels> {
  const stored = await browser.storage.local.get(ROUTE_MODELS_STORAGE_KEY);
  const parsed = routeModelsSchema.safeParse(stored[ROUTE_MODELS_STORAGE_KEY]);
  return parsed.success ? parsed.data : {};
}

/** Records the model the backend named for a tier. */
export async function rememberRouteModel(
  tier: Tier,
  model: string,
): Promise<void> {
  const models = await readRouteModels();
  if (models[tier] === model) {
    return;
  }
  await browser.storage.local.set({
    [ROUTE_MODELS_STORAGE_KEY]: { ...models, [tier]: model },
  });
}
