import { BOX_TOKEN_SOURCE } from './box-token.ts';

const BOX_TOKENS = new RegExp(BOX_TOKEN_SOURCE, 'g');
const MARKUP = /<\/?p>|<delim>/g;
/** What a stream cut mid-token leaves at the end: `{<12><3`, `<p`, `</`, `<deli`. */
const UNFINISHED_TAIL = /(\{\s*(<\d*>?\s*)*|<\/?[a-z]*)$/i;

/** The model's text as people should read it: no box tokens, no `<p>`/`</p>`/`<delim>`, tidy whitespace. */
export function visibleText(raw: string): string {
  return raw
    .replace(BOX_TOKENS, ' ')
    .replace(MARKUP, ' ')
    .replace(UNFINISHED_TAIL, '')
    .replace(/\(\s*\)|\[\s*\]/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/\s+([.,;:!?])/g, '$1')
    .trim();
}
