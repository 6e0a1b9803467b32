/**
 * Arithmetic of allowance tokens, shared by the store implementations.
 */

/** Allowance tokens for provider tokens at a weight, rounded up. */
export function weighTokens(weight: number, tokens: number): number {
  // Rounding first keeps 1.1 * 10 = 11.000000000000002 from becoming 12.
  return Math.ceil(Number((weight * tokens).toFixed(6)));
}

/**
 * Computes the largest output cap, at most maxOutputTokens, whose
 * reservation ceil(weight * (input + cap)) fits in the available allowance.
 * Returns a negative number when not even the input fits.
 */
export function fitOutputCap(options: {
  available: number;
  weight: number;
  inputTokens: number;
  maxOutputTokens: number;
}): number {
  const { available, weight, inputTokens } = options;
  let cap = Math.min(
    options.maxOutputTokens,
    Math.floor(available / weight) - inputTokens,
  );
  while (cap >= 0 && weighTokens(weight, inputTokens + cap) > available) {
    cap--;
  }
  return cap;
}

/**
 * Computes a period's allowance after a plan change: the new plan's,
 * raised when needed so that used plus reserved still fit, because the
 * ledger never holds a period that spent past its allowance.
 */
export function allowanceAfterPlanChange(options: {
  planAllowance: number;
  granted: number;
  used: number;
  reserved: number;
}): number {
  const { planAllowance, granted, used, reserved } = options;
  return Math.max(planAllowance, used + reserved - granted, 0);
}
