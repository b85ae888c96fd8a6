import { parseBoxRef } from '../grounding/box-ref.ts';
import type { Entity, ImageSize } from '../grounding/types.ts';
import type { AnyPlugin } from './plugin.ts';
import { fail, ok, type Result } from './result.ts';

/** What a box option is resolved against: the conversation's image and its last answer. */
export interface BoxContext {
  size?: ImageSize;
  entities: readonly Entity[];
}

/**
 * Turns the user's raw option values into typed ones: numbers parsed, boxes resolved to pixels, missing required
 * options named. Mistakes come back as identifiers, never exceptions.
 */
export function parseOptions(
  plugin: AnyPlugin,
  raw: Record<string, string | number | undefined>,
  boxes: BoxContext,
): Result<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  for (const option of plugin.options) {
    if (option.type === 'image') continue;
    const given = raw[option.name];
    const isBlank = given === undefined || String(given).trim() === '';
    if (isBlank) {
      if (option.required)
        return fail('missing-option', { command: plugin.name, option: option.name, description: option.description });
      continue;
    }
    const text = String(given).trim();
    if (option.type === 'number') {
      const n = Number(text);
      if (!Number.isFinite(n)) return fail('bad-number', { option: option.name, value: text });
      values[option.name] = n;
    } else if (option.type === 'box') {
      // Without an image a box means nothing; the image check that follows explains what is missing.
      if (!boxes.size) return fail('needs-image');
      const box = parseBoxRef(text, boxes.size, boxes.entities);
      if (!box.ok) return fail(box.error, box.context);
      values[option.name] = box.value;
    } else {
      values[option.name] = text;
    }
  }
  return ok(values);
}
