import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

interface TokenizerFile {
  added_tokens?: unknown[];
  [key: string]: unknown;
}

/**
 * The model's SentencePiece-style BPE tokenizer, with text and special tokens kept apart: text is always encoded
 * by a copy that knows no added tokens, so "<s>" typed by a user stays the characters '<', 's', '>' and can never
 * become a control id. Special ids are placed by the prompt builder only.
 */
export class PromptTokenizer {
  private constructor(
    private readonly full: Tokenizer,
    private readonly plain: Tokenizer,
  ) {}

  static async load(modelDir: string): Promise<PromptTokenizer> {
    const path = join(modelDir, 'tokenizer.json');
    let json: TokenizerFile;
    try {
      json = JSON.parse(await readFile(path, 'utf8')) as TokenizerFile;
    } catch (err) {
      throw new Error(`cannot read ${path}: ${(err as Error).message}`);
    }
    const full = new Tokenizer(json, {});
    const plain = new Tokenizer({ ...json, added_tokens: [] }, {});
    return new PromptTokenizer(full, plain);
  }

  /** Plain text → ids, with the SentencePiece dummy prefix and no special-token matching. */
  encodeText(text: string): number[] {
    if (text.length === 0) return [];
    return this.plain.encode(text, { add_special_tokens: false }).ids;
  }

  /** Ids → text for people and the box parser: special tokens skipped, surrounding space trimmed. */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    return this.full.decode([...ids], { skip_special_tokens: true, clean_up_tokenization_spaces: false }).trim();
  }
}
