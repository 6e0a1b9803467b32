/**
 * Allowance periods. A period is one calendar month long and starts at the
 * install's registration time, on the same UTC day of the month and time
 * of day. The day is clamped to the last day of shorter months, so an
 * install registered on 31 January resets on 28 or 29 February, then on
 * 31 March.
 */

export interface Period {
  /** First instant of the period, inclusive. */
  start: Date;
  /** First instant of the next period: the reset time, exclusive. */
  end: Date;
  /** 0 for the period that starts at registration, then 1, 2, ... */
  index: number;
}

/**
 * Adds whole months to a UTC instant, keeping the day of the month of
 * `anchor` but clamping it to the length of the target month.
 */
export function addMonthsClamped(anchor: Date, months: number): Date {
  const monthIndex = anchor.getUTCMonth() + months;
  const year = anchor.getUTCFullYear() + Math.floor(monthIndex / 12);
  const month = ((monthIndex % 12) + 12) % 12;
  const lastDayOfMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(anchor.getUTCDate(), lastDayOfMonth);

  return new Date(
    Date.UTC(
      year,
      month,
      day,
      anchor.getUTCHours(),
      anchor.getUTCMinutes(),
      anchor.getUTCSeconds(),
      anchor.getUTCMilliseconds(),
    ),
  );
}

/**
 * Finds the period that contains `now` for an install registered at
 * `registeredAt`. A `now` before registration (a clock step backwards)
 * falls in the first period.
 */
export function findPeriod(registeredAt: Date, now: Date): Period {
  const monthsApart =
    (now.getUTCFullYear() - registeredAt.getUTCFullYear()) * 12 +
    (now.getUTCMonth() - registeredAt.getUTCMonth());
  let index = Math.max(0, monthsApart);

  // The month difference can be one too high (earlier day in the month) but
  // never too low, so step back until the start is not after now.
  while (index > 0 && addMonthsClamped(registeredAt, index) > now) {
    index--;
  }
  return {
    start: addMonthsClamped(registeredAt, index),
    end: addMonthsClamped(registeredAt, index + 1),
    index,
  };
}
