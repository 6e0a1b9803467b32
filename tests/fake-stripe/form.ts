/**
 * Decodes the form bodies the Stripe SDK sends
 * (`application/x-www-form-urlencoded` with bracketed keys such as
 * `line_items[0][price]`) into nested objects, the way Stripe reads them.
 * Numeric keys become array positions.
 */

export type FormValue = string | FormObject | FormValue[];
export interface FormObject {
  [key: string]: FormValue;
}

/** Decodes a form body; throws an Error naming a key that mixes shapes. */
export function decodeStripeForm(body: string): FormObject {
  const root: FormObject = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = splitKey(key);
    assign(root, path, value, key);
  }
  return toArrays(root) as FormObject;
}

/** `a[b][0]` becomes ['a', 'b', '0']. */
function splitKey(key: string): string[] {
  const head = /^[^[]+/.exec(key)?.[0] ?? '';
  const rest = [...key.slice(head.length).matchAll(/\[([^\]]*)\]/g)].map(
    (match) => match[1] ?? '',
  );
  return [head, ...rest];
}

function assign(
  target: FormObject,
  path: string[],
  value: string,
  key: string,
): void {
  let node = target;
  for (const [index, part] of path.entries()) {
    if (index === path.length - 1) {
      node[part] = value;
      return;
    }
    const next = node[part];
    if (next === undefined) {
      const created: FormObject = {};
      node[part] = created;
      node = created;
    } else if (typeof next === 'object' && !Array.isArray(next)) {
      node = next;
    } else {
      throw new Error(`The form key ${key} mixes a value and an object.`);
    }
  }
}

/** Turns objects whose keys are 0, 1, 2, ... into arrays. */
function toArrays(value: FormValue): FormValue {
  if (typeof value === 'string' || Array.isArray(value)) {
    return value;
  }
  const keys = Object.keys(value);
  const converted: FormObject = {};
  for (const key of keys) {
    converted[key] = toArrays(value[key] as FormValue);
  }
  const isList =
    keys.length > 0 && keys.every((key, index) => key === String(index));
  return isList ? keys.map((key) => converted[key] as FormValue) : converted;
}
