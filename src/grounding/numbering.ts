import type { Entity, NumberedBox } from './types.ts';

/** The numbers people see on drawn boxes: entities in order, then each entity's boxes in order, from #1. */
export function numberBoxes(entities: readonly Entity[]): NumberedBox[] {
  const numbered: NumberedBox[] = [];
  entities.forEach((entity, entityIndex) => {
    for (const box of entity.boxes) {
      numbered.push({ number: numbered.length + 1, entityIndex, phrase: entity.phrase, box });
    }
  });
  return numbered;
}
